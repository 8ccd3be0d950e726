"""How the processes run: settings, the Celery app, retries, observability and Prometheus, health checks, worker signals."""

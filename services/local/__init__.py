"""Everything on one machine without the Celery path: ``runner`` runs an experiment
in-process (the same step functions the workers call); ``stack`` starts the API and both
workers as local processes (``icl-it up``, ``make demo``, the stack tests)."""

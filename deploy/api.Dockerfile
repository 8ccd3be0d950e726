# The HTTP gateway: FastAPI + SQLAlchemy + Celery client. No torch.
# Build from the repository root: docker build -f deploy/api.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ICL_IT_HOME=/var/lib/icl-it PYTHONPATH=/app
WORKDIR /app

COPY requirements.lock deploy/requirements-filter.sh /tmp/
RUN /tmp/requirements-filter.sh /tmp/requirements.lock > /tmp/req.txt \
    && pip install --no-deps -r /tmp/req.txt

COPY alembic.ini ./
COPY services ./services
RUN useradd --system --uid 10001 --home /var/lib/icl-it --create-home app \
    && mkdir -p /artifacts && chown app /artifacts
USER app

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8000/healthz').status_code != 200)"
# Migrates the database at startup (Postgres advisory lock: replicas take turns).
CMD ["uvicorn", "services.api.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]

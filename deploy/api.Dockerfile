# syntax=docker/dockerfile:1
# The HTTP gateway: FastAPI + SQLAlchemy + Celery client. No torch.
# Also the image of the migrations job and of Flower (same lock, same Celery config).
# Build from the repository root: docker build -f deploy/api.Dockerfile .
# Base: Python 3.11 as the lock was resolved and tested on, pinned by tag and digest
# (the multi-architecture index). deploy/smoke.sh pulls it, so a stale digest shows there.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Only the lock decides this layer: code changes rebuild from the COPY of services/ on.
COPY requirements.lock deploy/requirements-filter.sh /tmp/
RUN python -m venv /opt/venv \
    && /tmp/requirements-filter.sh slim /tmp/requirements.lock > /tmp/req.txt \
    && /opt/venv/bin/pip install --no-deps -r /tmp/req.txt \
    && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app ICL_IT_HOME=/var/lib/icl-it ICL_IT_HOST=0.0.0.0 \
    ICL_IT_LOG_FORMAT=json ICL_IT_METRICS_PORT=9808 ICL_IT_METRICS_HOST=0.0.0.0
# A numeric user, so that runAsNonRoot can verify it; group 0 lets OpenShift-style
# random uids write the same directories.
RUN useradd --system --uid 10001 --gid 0 --home-dir /var/lib/icl-it --create-home app \
    && install -d -o 10001 -g 0 -m 0775 /artifacts
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY services ./services
RUN python -c "import sys, services.api.main; assert 'torch' not in sys.modules"
USER 10001:0

EXPOSE 8000
# Prometheus: /metrics without a key on 9808 (keep it off public networks); on 8000 it
# needs an admin key or ICL_IT_METRICS_TOKEN.
EXPOSE 9808
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "services.common.runtime.healthcheck", "http://127.0.0.1:8000/healthz"]
# Migrates the database at startup too (Postgres advisory lock: replicas take turns);
# the access log comes from the app (JSON, with route and experiment id), not uvicorn's.
CMD ["uvicorn", "services.api.main:app", "--host", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--no-access-log"]

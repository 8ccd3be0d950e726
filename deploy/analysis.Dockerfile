# syntax=docker/dockerfile:1
# The analysis worker: numpy/scipy/matplotlib, no torch. Scales on CPUs.
# Build from the repository root: docker build -f deploy/analysis.Dockerfile .
# Base: Python 3.11 as the lock was resolved and tested on, pinned by tag and digest.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock deploy/requirements-filter.sh /tmp/
RUN python -m venv /opt/venv \
    && /tmp/requirements-filter.sh slim /tmp/requirements.lock > /tmp/req.txt \
    && /opt/venv/bin/pip install --no-deps -r /tmp/req.txt \
    && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app ICL_IT_HOME=/var/lib/icl-it MPLBACKEND=Agg MPLCONFIGDIR=/tmp/matplotlib \
    ICL_IT_LOG_FORMAT=json PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    ICL_IT_METRICS_PORT=9808 ICL_IT_HEARTBEAT_FILE=/tmp/icl-it-worker.heartbeat
RUN useradd --system --uid 10001 --gid 0 --home-dir /var/lib/icl-it --create-home app \
    && install -d -o 10001 -g 0 -m 0775 /artifacts /tmp/prometheus
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY services ./services
RUN python -c "import sys, services.analysis.tasks; assert 'torch' not in sys.modules"
USER 10001:0

# Worker metrics (Prometheus, all pool processes) on ICL_IT_METRICS_PORT.
EXPOSE 9808
# The worker's main loop touches the heartbeat file every 10 s (services/common/runtime/worker_signals.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "services.common.runtime.healthcheck", "--heartbeat", "/tmp/icl-it-worker.heartbeat", "--max-age", "60"]
# -c: analysis processes per container; scale out with more containers.
CMD ["celery", "--quiet", "-A", "services.analysis.tasks", "worker", "-Q", "analysis", "-c", "2", \
     "-P", "prefork", "-n", "analysis@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]

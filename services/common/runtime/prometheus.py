"""Every Prometheus metric of the service, in one place (names are the contract with
dashboards: deploy/monitoring/grafana/dashboards/icl-it.json).

API (``services/api/prometheus.py`` records and serves them, with two gauges computed at
scrape time: experiments by status and queue depth):
    icl_it_http_requests_total{method,route,status}
    icl_it_http_request_duration_seconds{method,route,status}

Workers (``services/common/runtime/worker_signals.py``, ``services/gpu_worker/run_telemetry.py``):
    icl_it_task_duration_seconds{task,state}      one Celery task, start to end
    icl_it_task_queue_wait_seconds{queue}         enqueued -> started
    icl_it_run_stage_seconds{stage}               engine stages of one run (RunOutput.timings)
    icl_it_tokens_total{phase}, icl_it_tokens_per_second{phase}
                                                  phase: extract (forward passes), tune (LoRA)
    icl_it_adapters_total, icl_it_adapters_per_second
    icl_it_gpu_memory_bytes{device,kind}          after each run, when CUDA is in use

Importing this module first makes sure a worker that serves metrics has a multi-process
directory (prometheus_client reads it at import).
"""

from __future__ import annotations

import time
from typing import Any

from celery.signals import before_task_publish

from services.common.runtime.observability import ensure_multiproc_dir

ensure_multiproc_dir()

from prometheus_client import Counter, Gauge, Histogram  # noqa: E402

SENT_AT_HEADER = "icl_it_sent_at"

# seconds: fast HTTP answers ... the GPU task time limit (4 h)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
TASK_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
RATE_BUCKETS = tuple(10.0**e for e in range(-1, 7))

HTTP_REQUESTS = Counter(
    "icl_it_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "icl_it_http_request_duration_seconds",
    "HTTP request latency, by route template and status.",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
)
TASK_DURATION = Histogram(
    "icl_it_task_duration_seconds",
    "Celery task run time, by task name and final state.",
    ["task", "state"],
    buckets=TASK_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "icl_it_task_queue_wait_seconds",
    "Time from enqueue to the start of the task, by queue.",
    ["queue"],
    buckets=TASK_BUCKETS,
)
RUN_STAGE = Histogram(
    "icl_it_run_stage_seconds",
    "Engine stage durations of one run (setup, anchor, icl, tune, it, total).",
    ["stage"],
    buckets=TASK_BUCKETS,
)
TOKENS = Counter("icl_it_tokens", "Tokens processed by the GPU worker, by phase.", ["phase"])
TOKENS_PER_S = Histogram(
    "icl_it_tokens_per_second",
    "Throughput of one run, by phase (extract: forward passes; tune: LoRA training).",
    ["phase"],
    buckets=RATE_BUCKETS,
)
ADAPTERS = Counter("icl_it_adapters", "LoRA adapters tuned.", ["model"])
ADAPTERS_PER_S = Histogram(
    "icl_it_adapters_per_second",
    "Adapters tuned per second of tuning, per run.",
    ["model"],
    buckets=RATE_BUCKETS,
)
GPU_MEMORY = Gauge(
    "icl_it_gpu_memory_bytes",
    "CUDA memory of the worker process after its last run (allocated, reserved, peak).",
    ["device", "kind"],
    multiprocess_mode="liveall",
)


@before_task_publish.connect(weak=False)
def _stamp_sent_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Every published task carries its enqueue time, for the queue-wait histogram."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())

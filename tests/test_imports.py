"""Process boundaries: the analysis worker and the API never import torch, and the GPU
worker's parent process does not either (torch and CUDA load in its pool child)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "module",
    [
        "services.analysis.tasks",
        "services.api.main",
        "services.local.stack",
        "services.gpu_worker.worker",
    ],
)
def test_module_does_not_import_torch(module):
    code = (
        "import sys, importlib\n"
        f"importlib.import_module({module!r})\n"
        "import services.analysis.summarize, services.analysis.report\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'peft'))\n"
        "assert not bad, bad\n"
    )
    env_home = {"ICL_IT_HOME": str(ROOT / "var")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, **env_home},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_celery_config_invariants():
    from services.common.runtime.celery_app import (
        ANALYSIS_QUEUE,
        GPU_QUEUE,
        TASK_ANALYZE,
        TASK_FINALIZE,
        TASK_RUN,
        make_celery,
        time_limits,
        visibility_timeout,
    )
    from services.common.runtime.settings import Settings

    settings = Settings(REDIS_URL="redis://127.0.0.1:6379/0", ICL_IT_BROKER_PREFIX="p:")
    app = make_celery(settings)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert {q.name for q in conf.task_queues} == {GPU_QUEUE, ANALYSIS_QUEUE}
    assert app.amqp.router.route({}, TASK_RUN)["queue"].name == GPU_QUEUE
    assert app.amqp.router.route({}, TASK_ANALYZE)["queue"].name == ANALYSIS_QUEUE
    assert app.amqp.router.route({}, TASK_FINALIZE)["queue"].name == ANALYSIS_QUEUE
    opts = conf.broker_transport_options
    assert opts["visibility_timeout"] == visibility_timeout(settings)
    assert opts["visibility_timeout"] > max(time_limits(settings).values())
    assert opts["global_keyprefix"] == "p:"

    too_short = Settings(
        REDIS_URL="redis://127.0.0.1:6379/0",
        ICL_IT_VISIBILITY_TIMEOUT=60,
        ICL_IT_TASK_TIME_LIMIT=600,
    )
    with pytest.raises(RuntimeError, match="visibility timeout"):
        make_celery(too_short)

    embedded = make_celery(Settings(ICL_IT_HOME=ROOT / "var", REDIS_URL=None))
    assert embedded.conf.broker_url.startswith("sqla+sqlite:///")
    assert "visibility_timeout" not in embedded.conf.broker_transport_options

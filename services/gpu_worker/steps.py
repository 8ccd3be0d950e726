"""The GPU step of the pipeline: one RunConfig -> the run's files, as bytes.

Called by both orchestrators: the Celery task (``gpu_worker.tasks.execute_run``) stores
the files as artifacts, the in-process runner (``local.runner.extract_runs``) writes them
under ``runs/<run key>/``. Both therefore store the same bytes:

    states.safetensors   hidden states [example, condition, layer, d_model] (+ log-probs)
    prompts.json         exact prompt text and token ids of every condition, the
                         adapters' tuning record, and the run's stage timings
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.common.spec import RunConfig

if TYPE_CHECKING:
    from services.gpu_worker.engine import Engine, RunOutput

STATES_FILE = "states.safetensors"
PROMPTS_FILE = "prompts.json"
RUN_FILES = (STATES_FILE, PROMPTS_FILE)

Progress = Callable[[float, int, str], None]


@dataclass(frozen=True)
class ExtractedRun:
    """What one engine run leaves behind: the files and what the job rows record."""

    output: RunOutput
    files: dict[str, bytes]  # RUN_FILES -> bytes

    @property
    def states(self) -> bytes:
        return self.files[STATES_FILE]

    @property
    def shape(self) -> list[int]:
        return [int(n) for n in self.output.states.hidden.shape]

    @property
    def timings(self) -> dict[str, float]:
        return {stage: float(s) for stage, s in self.output.timings.items()}


def extract_run(
    engine: Engine,
    config: RunConfig,
    *,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExtractedRun:
    """Run the engine for one configuration; ``engine.Cancelled`` propagates."""
    output = engine.run(config, progress=progress, should_cancel=should_cancel)
    files = {STATES_FILE: output.states.to_bytes(), PROMPTS_FILE: prompts_json(config, output)}
    return ExtractedRun(output, files)


def prompts_json(config: RunConfig, output: RunOutput) -> bytes:
    """The one prompts.json payload. Numpy scalars (demonstration similarities) are
    written as numbers; a diverged loss stays NaN rather than failing a finished run."""
    payload = {
        "run_key": config.key,
        "prompts": output.prompts,
        "tuning": output.tuning,
        "timings": {stage: float(s) for stage, s in output.timings.items()},
        # the compute precision the states were made in (states are stored fp32 always)
        "precision": (output.states.meta.get("model") or {}).get("precision"),
    }
    return json.dumps(payload, default=_plain).encode()


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)

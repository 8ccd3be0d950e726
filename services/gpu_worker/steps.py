"""The GPU step of the pipeline: one RunConfig -> the run's files, as bytes.

Called by both orchestrators: the Celery task (``gpu_worker.tasks.consume_run_with``) stores
the files as artifacts, the in-process runner (``local.runner.run_extraction``) writes them
under ``runs/<run key>/``. Both therefore store the same bytes:

    states.safetensors   hidden states [example, condition, layer, d_model] (+ log-probs)
    prompts.json         exact prompt text and token ids of every condition and the
                         adapters' tuning record

The stage timings go on the run's record (``ExtractedRun.timings``), not into a file:
see ``common.storage.layout``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.common.spec import RunConfig
from services.common.storage.layout import PROMPTS_FILE, RUN_FILES, STATES_FILE

if TYPE_CHECKING:
    from services.gpu_worker.engine import Engine, RunOutput

__all__ = ["PROMPTS_FILE", "RUN_FILES", "STATES_FILE", "ExtractedRun", "extract_run"]

Progress = Callable[[float, int, str], None]


@dataclass(frozen=True)
class ExtractedRun:
    """What one engine run leaves behind: the files and what the job rows record."""

    output: RunOutput
    files: dict[str, bytes]  # RUN_FILES -> bytes

    @property
    def states(self) -> bytes:
        """The bytes of ``states.safetensors``."""
        return self.files[STATES_FILE]

    @property
    def shape(self) -> list[int]:
        """The hidden states' shape ``[example, condition, layer, d_model]``, for the run row."""
        return [int(n) for n in self.output.states.hidden.shape]

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per engine stage, as recorded on the run row."""
        return {stage: float(s) for stage, s in self.output.timings.items()}


def extract_run(
    engine: Engine,
    config: RunConfig,
    *,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExtractedRun:
    """Run the engine for one configuration; ``engine.Cancelled`` propagates."""
    output = engine.execute(config, progress=progress, should_cancel=should_cancel)
    files = {STATES_FILE: output.states.to_bytes(), PROMPTS_FILE: prompts_json(config, output)}
    return ExtractedRun(output, files)


def prompts_json(config: RunConfig, output: RunOutput) -> bytes:
    """The one prompts.json payload. Numpy scalars (demonstration similarities) are
    written as numbers; a diverged loss stays NaN rather than failing a finished run."""
    payload = {
        "run_key": config.key,
        "prompts": output.prompts,
        "tuning": output.tuning,
        # the compute precision the states were made in (states are stored fp32 always)
        "precision": (output.states.meta.get("model") or {}).get("precision"),
    }
    return json.dumps(payload, default=_plain).encode()


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)

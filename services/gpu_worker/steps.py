"""The GPU step of the pipeline: one RunConfig -> the run's files, as bytes.

Called by both orchestrators: the Celery task (``gpu_worker.tasks.consume_run_with``) stores
the files as artifacts, the in-process runner (``local.runner.run_extraction``) writes them
under ``runs/<run key>/``. Both therefore store the same bytes:

    states.safetensors   hidden states [example, condition, layer, d_model] (+ log-probs)
    prompts.json         exact prompt text and token ids of every condition and the
                         adapters' tuning record
    tuning.json          every adapter's loss at each step, the step rate, the wall time
    adapters/<n>/        adapter n in peft's save_pretrained layout (``lora.save_adapters``)

The stage timings go on the run's record (``ExtractedRun.timings``), not into a file:
see ``common.storage.layout``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.common.spec import RunConfig
from services.common.storage.layout import (
    PROMPTS_FILE,
    RUN_FILES,
    STATES_FILE,
    TUNING_FILE,
    json_bytes,
)

if TYPE_CHECKING:
    from services.gpu_worker.engine import Engine, RunOutput
    from services.gpu_worker.run_progress import OnTuning

__all__ = ["PROMPTS_FILE", "RUN_FILES", "STATES_FILE", "ExtractedRun", "extract_run"]

Progress = Callable[[float, int, str], None]


@dataclass(frozen=True)
class ExtractedRun:
    """What one engine run leaves behind: the files and what the job rows record."""

    output: RunOutput
    files: dict[str, bytes]  # RUN_FILES and saved adapters' files (run-relative) -> bytes

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
    on_tuning: OnTuning | None = None,
) -> ExtractedRun:
    """Run the engine for one configuration; ``engine.Cancelled`` propagates."""
    output = engine.execute(
        config, progress=progress, should_cancel=should_cancel, on_tuning=on_tuning
    )
    files = {
        STATES_FILE: output.states.to_bytes(),
        PROMPTS_FILE: prompts_json(config, output),
        TUNING_FILE: tuning_json(output),
    }
    if output.adapters is not None:
        files.update(output.adapters.files(config.lora, config.model.name))
    return ExtractedRun(output, files)


def tuning_json(output: RunOutput) -> bytes:
    """The one tuning.json payload: each adapter's loss at each step (1-based; the loss of
    that step's forward pass, before its update), its shuffled-label twin's as a second
    entry, and the measured step rate. A diverged loss is written as null."""
    entries = []
    for t in output.tuning:
        examples = t["examples"]
        example = examples[0] if len(examples) == 1 else None
        runs = [("it", t["losses"]), ("it_shuffled", t.get("shuffled_losses"))]
        for condition, losses in runs:
            if losses is None:
                continue
            entries.append(
                {
                    "adapter": t["adapter"],
                    "condition": condition,
                    "example": example,
                    "examples": examples,
                    "steps": list(range(1, len(losses) + 1)),
                    "loss": [x if math.isfinite(x) else None for x in map(float, losses)],
                }
            )
    wall = float(output.timings.get("tune", 0.0))
    saver = output.adapters
    return json_bytes(
        {
            "adapters": entries,
            "step_rate_per_s": output.tune_steps / wall if wall > 0 else 0.0,
            "wall_s": wall,
            "optimizer_steps": output.tune_steps,
            "saved_adapters": sorted(saver.states) if saver else [],
            "adapters_not_saved": saver.skipped if saver else None,
        }
    )


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

"""Progress at the granularity of the work: through the LoRA stage the fraction moves with
every tuning step (not one jump per stage), and the in-process bar prints it readably."""

from __future__ import annotations

import io
from pathlib import Path

from services.common.settings import Settings


def test_fraction_moves_with_every_tuning_step(tiny_model_dir: Path) -> None:
    import torch

    from services.common.spec import ExperimentSpec, expand_runs
    from services.gpu_worker.engine import Engine

    engine = Engine(
        settings=Settings(ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent)),
        device=torch.device("cpu"),
    )
    spec = ExperimentSpec.model_validate(
        {
            "name": "progress",
            "model": {"name": str(tiny_model_dir)},
            "inference": {"n": 3},
            "demos": {"k": 2},
            "lora": {"epochs": 4},
            "controls": [],
        }
    )
    (run,) = expand_runs(spec)
    seen: list[tuple[float, int, str]] = []
    engine.run(run, progress=lambda done, total, stage: seen.append((done, total, stage)))
    fractions = [done / total for done, total, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    tuning = [f for (_, _, stage), f in zip(seen, fractions, strict=True) if "step" in stage]
    assert len(tuning) == run.lora.steps, seen
    assert len(set(tuning)) == len(tuning)  # a new value at every step
    assert all(0 < f < 1 for f in tuning)


def test_in_process_bar_prints_fractions_readably() -> None:
    from tqdm import tqdm

    from services.cli import RUN_BAR_FORMAT

    out = io.StringIO()
    bar = tqdm(total=1, file=out, bar_format=RUN_BAR_FORMAT)
    bar.n = round(1 / 3, 4)
    bar.set_description("run 1/1 [none] base seed=0: adapter 1-3/3, step 1/4")
    text = str(bar)
    bar.close()
    assert "0.33/1 runs" in text and " 33%" in text
    assert "0.3333" not in text

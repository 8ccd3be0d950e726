"""Progress at the granularity of the work: through the LoRA stage the fraction moves with
every tuning step (not one jump per stage), and the in-process bar prints it readably."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from services.common.runtime.settings import Settings


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
    engine.execute(run, progress=lambda done, total, stage: seen.append((done, total, stage)))
    fractions = [done / total for done, total, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    tuning = [f for (_, _, stage), f in zip(seen, fractions, strict=True) if "step" in stage]
    assert len(tuning) == run.lora.steps, seen
    assert len(set(tuning)) == len(tuning)  # a new value at every step
    assert all(0 < f < 1 for f in tuning)


def test_in_process_bar_prints_fractions_readably() -> None:
    from tqdm import tqdm

    from services.cli.main import RUN_BAR_FORMAT

    out = io.StringIO()
    bar = tqdm(total=1, file=out, bar_format=RUN_BAR_FORMAT)
    bar.n = round(1 / 3, 4)
    bar.set_description("run 1/1 [none] base seed=0: adapter 1-3/3, step 1/4")
    text = str(bar)
    bar.close()
    assert "0.33/1 runs" in text and " 33%" in text
    assert "0.3333" not in text


def _engine_and_run(tiny_model_dir: Path, **body: Any) -> tuple[Any, Any]:
    import torch

    from services.common.spec import ExperimentSpec, expand_runs
    from services.gpu_worker.engine import Engine

    engine = Engine(
        settings=Settings(ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent)),
        device=torch.device("cpu"),
        batch_size=1,  # one prompt per forward: progress after every prompt
    )
    spec = ExperimentSpec.model_validate(
        {"name": "progress", "model": {"name": str(tiny_model_dir)}, "demos": {"k": 2}, **body}
    )
    return engine, expand_runs(spec)[0]


def test_fraction_moves_with_every_extraction_batch(tiny_model_dir: Path) -> None:
    """Anchor, ICL and the IT-state extractions (own adapter and each control) report
    after every batch, so a long extraction moves the bar too."""
    engine, run = _engine_and_run(
        tiny_model_dir,
        inference={"n": 4},
        lora={"epochs": 2},
        controls=["cross_adapter", "shuffled_labels", "random_lora"],
    )
    seen: list[tuple[float, int, str]] = []
    out = engine.execute(run, progress=lambda done, total, stage: seen.append((done, total, stage)))
    fractions = [done / total for done, total, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1
    for prefix in ("anchor ", "icl "):
        stages = [s for _, _, s in seen if s.startswith(prefix)]
        assert stages == [f"{prefix}{d}/4" for d in range(1, 5)], seen
    it_states = [d for d, _, s in seen if s.endswith("IT states")]
    # 4 prompts through: own adapter, shuffled twin, each of the 4 adapters (cross), and the
    # random LoRA in each scaling round until it matches; each batch a distinct, rising value
    rounds = out.states.meta["random_lora_rounds"]
    assert len(it_states) == 4 + 4 + 16 + int(sum(rounds))
    assert len(set(it_states)) == len(it_states) and max(it_states) < seen[-1][1]


def test_single_adapter_path_reports_every_tuning_step(tiny_model_dir: Path) -> None:
    """LoRA dropout takes the peft path (one adapter at a time): it reports per step too."""
    engine, run = _engine_and_run(
        tiny_model_dir, inference={"n": 2}, lora={"epochs": 3, "dropout": 0.1}, controls=[]
    )
    seen: list[str] = []
    engine.execute(run, progress=lambda done, total, stage: seen.append(stage))
    for u in (1, 2):
        steps = [s for s in seen if s.startswith(f"adapter {u}/2, step")]
        # each step's message carries its loss and the ETA: '..., step 1/3, loss 2.31, ETA 0:03'
        assert [s.split(", loss ")[0] for s in steps] == [
            f"adapter {u}/2, step {e}/3" for e in (1, 2, 3)
        ], seen
        assert all(re.search(r", loss \d+\.\d\d, ETA \d+:\d\d$", s) for s in steps), steps

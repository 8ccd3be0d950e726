"""A run on a Hugging Face dataset (``data.hf``, issue 20): the engine reads it with
``datasets`` and its examples, demonstrations and labels come from it."""

from __future__ import annotations

from pathlib import Path

import datasets
import torch

from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, expand_runs
from services.gpu_worker.engine import Engine

REVIEWS = {
    "sentence": [f"Review number {i}: {'great' if i % 2 else 'poor'} film." for i in range(12)],
    "label": [i % 2 for i in range(12)],
}


def test_a_run_reads_its_examples_from_a_saved_hugging_face_dataset(tiny_dir: Path, tmp_path: Path):
    saved = tmp_path / "reviews"
    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["bad", "good"])}
    )
    datasets.Dataset.from_dict(REVIEWS, features=features).save_to_disk(str(saved))
    spec = ExperimentSpec.model_validate(
        {
            "model": {"name": str(tiny_dir)},
            "data": {"hf": str(saved), "text_column": "sentence"},
            "inference": {"n": 3},
            "demos": {"k": 2},
            "lora": {"epochs": 1},
            "controls": [],
        }
    )
    (run,) = expand_runs(spec)
    settings = Settings(ICL_IT_MODEL_DIRS=str(tiny_dir.parent), ICL_IT_DATA_DIRS=str(tmp_path))
    out = Engine(settings=settings, device=torch.device("cpu")).execute(run)
    assert out.states.label_names == ["bad", "good"]
    task = f"hf:{saved}:train"
    assert all(e.startswith(f"{task}:") for e in out.states.example_ids), out.states.example_ids
    prompts = str(out.prompts)
    assert "Review number" in prompts and "Sentiment" not in prompts

"""A spec's ``data.hf`` (issue 20): a Hugging Face dataset read with ``datasets`` — a
``save_to_disk`` directory, and a Hub id from the datasets cache offline — through the
column mapping and limits of an upload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from services.common.runtime.settings import Settings
from services.common.spec import DataSpec, ExperimentSpec
from services.common.storage.datasets import MAX_ROWS, DatasetError
from services.common.storage.hf_datasets import load_data
from tests.fixtures.hub_cache import lay_out_datasets_cache

REPO = Path(__file__).resolve().parents[2]
FEATURES = datasets.Features(
    {
        "sentence": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["negative", "positive"]),
    }
)
ROWS = {
    "sentence": ["A fine film.", "Dull and long.", "Loved it.", "Awful.", "Great cast.", "Meh."],
    "label": [1, 0, 1, 0, 1, 0],
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DatasetDict with a ClassLabel column, written by save_to_disk."""
    path = tmp_path_factory.mktemp("data") / "reviews"
    train = datasets.Dataset.from_dict(ROWS, features=FEATURES)
    datasets.DatasetDict({"train": train, "validation": train.select(range(2))}).save_to_disk(
        str(path)
    )
    return path


def settings_for(path: Path) -> Settings:
    return Settings(ICL_IT_DATA_DIRS=str(path.parent))


def test_a_saved_dataset_is_read_with_its_class_label_names(saved: Path) -> None:
    spec = DataSpec(hf=str(saved), text_column="sentence")
    assert spec.task == "hf"
    data = load_data(spec.task, spec, settings_for(saved))
    assert data.name == f"hf:{saved}:train" and data.labels == ("negative", "positive")
    assert [(e.text, e.label) for e in data.examples[:2]] == [
        ("A fine film.", "positive"),
        ("Dull and long.", "negative"),
    ]


def test_splits_slices_and_label_names(saved: Path) -> None:
    def rows(**fields: object) -> list[tuple[str, str]]:
        spec = DataSpec(hf=str(saved), text_column="sentence", **fields)
        return [(e.text, e.label) for e in load_data("hf", spec, settings_for(saved)).examples]

    assert len(rows(split="validation")) == 2
    assert rows(split="train[2:4]") == [("Loved it.", "positive"), ("Awful.", "negative")]
    assert len(rows(split="train[:50%]")) == 3
    assert rows(split="train[:2]", label_names=["bad", "good"])[0][1] == "good"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"split": "test"}, "no split 'test' \\(splits: train, validation\\)"),
        ({"text_column": "text"}, "no column 'text' \\(columns: sentence, label\\)"),
        ({"label_names": ["negative"]}, "row 1: column 'label': label 1 has no name"),
    ],
)
def test_errors_name_what_is_wrong(saved: Path, fields: dict, message: str) -> None:
    spec = DataSpec(hf=str(saved), **{"text_column": "sentence", **fields})
    with pytest.raises(DatasetError, match=message):
        load_data("hf", spec, settings_for(saved))


def test_what_a_spec_may_read_is_checked_by_the_worker_too(saved: Path, tmp_path: Path) -> None:
    spec = DataSpec(hf=str(saved), text_column="sentence")
    with pytest.raises(DatasetError, match="ICL_IT_DATA_DIRS"):
        load_data("hf", spec, Settings(ICL_IT_DATA_DIRS=str(tmp_path)))
    with pytest.raises(DatasetError, match="ICL_IT_HUB_DATASETS"):
        load_data("hf", DataSpec(hf="someone/reviews"), Settings(ICL_IT_HUB_DATASETS=""))


def test_more_rows_than_an_upload_may_have_is_refused_with_a_slice_to_take(tmp_path: Path):
    big = tmp_path / "big"
    n = MAX_ROWS + 1
    datasets.Dataset.from_dict({"text": ["t"] * n, "label": ["a"] * n}).save_to_disk(str(big))
    spec = DataSpec(hf=str(big))
    with pytest.raises(
        DatasetError, match=f"{n} rows \\(max {MAX_ROWS}\\).*train\\[:{MAX_ROWS}\\]"
    ):
        load_data("hf", spec, settings_for(big))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hf": "x/y", "task": "topic"}, "not both"),
        ({"task": "hf"}, "needs data.hf"),
        ({"text_column": "sentence"}, "only with data.hf"),
        ({"hf": "../etc"}, "String should match pattern"),
        ({"hf": "/data/../etc"}, "'..' path segments"),
        ({"hf": "x/y", "split": "train[5]"}, "String should match pattern"),
    ],
)
def test_the_spec_refuses_what_it_cannot_mean(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExperimentSpec(data=data)


def test_a_hub_id_is_read_offline_from_the_datasets_cache(tmp_path: Path) -> None:
    cache = tmp_path / "datasets"
    train = datasets.Dataset.from_dict(ROWS, features=FEATURES)
    lay_out_datasets_cache(cache, "someone/reviews", train)
    code = (
        "import json; from services.common.spec import DataSpec; "
        "from services.common.runtime.settings import Settings; "
        "from services.common.storage.hf_datasets import load_data; "
        "spec = DataSpec(hf='someone/reviews', text_column='sentence', split='train[:4]'); "
        "d = load_data('hf', spec, Settings(ICL_IT_HUB_DATASETS='*/*')); "
        "print(json.dumps([d.name, d.labels, [[e.text, e.label] for e in d.examples]]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_CACHE=str(cache),
        HF_HOME=str(tmp_path / "hf"),
        HF_ENDPOINT="http://127.0.0.1:9",  # a closed port: any request would fail
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    name, labels, rows = json.loads(proc.stdout.splitlines()[-1])
    assert name == "hf:someone/reviews:train[:4]" and labels == ["negative", "positive"]
    assert rows[0] == ["A fine film.", "positive"] and len(rows) == 4

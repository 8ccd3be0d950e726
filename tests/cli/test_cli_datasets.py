"""Datasets as people have them, from the command line (issue 20): ``datasets upload`` of
a CSV and of Hugging Face-style JSONL with a column mapping (against a real stack), and
``icl-it run --data mine.csv`` with the same mapping in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.cli.main import main
from tests.cli.test_cli import _get, cli_env  # noqa: F401 (a fixture)
from tests.fixtures.helpers import tiny_spec

REPO = Path(__file__).resolve().parents[2]
CSV = "sentence,label\n" + "".join(
    f"Film {i} was {'great' if i % 2 else 'awful'}.,{i % 2}\n" for i in range(8)
)
MAPPING = ["--text-column", "sentence", "--label-column", "label"]


@pytest.mark.services
@pytest.mark.usefixtures("cli_env")
def test_upload_a_csv_and_hugging_face_rows_with_a_column_mapping(
    surface_stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text(CSV)
    names = ["--label-names", "negative,positive"]
    assert main(["datasets", "upload", str(mine), *MAPPING, *names]) == 0
    task = capsys.readouterr().out.strip()
    assert task.startswith("upload:")
    body = _get(surface_stack, f"/v1/datasets/{task.split(':')[1]}").json()
    assert body["kind"] == "classification" and body["n_rows"] == 8

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"sentence": "good", "label": 1}\n{"sentence": "bad", "label": 0}\n')
    assert main(["datasets", "upload", str(rows), *MAPPING]) == 0
    assert capsys.readouterr().out.strip().startswith("upload:")

    # a label without a name: the error names the row and the column
    assert main(["datasets", "upload", str(mine), *MAPPING, "--label-names", "negative"]) != 0
    err = capsys.readouterr().err
    assert "row 2: column 'label': label 1 has no name" in err


def test_run_with_a_csv_and_a_column_mapping(tiny_model_dir: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text(CSV)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tiny_spec(tiny_model_dir, inference={"n": 2})))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICL_IT_")}
    env.update(
        ICL_IT_HOME=str(tmp_path / "home"),
        ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent),
        ICL_IT_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS="1",
    )
    argv = ["run", str(spec), "--data", str(mine), *MAPPING, "--label-names", "bad,good"]
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", *argv, "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["spec"]["data"]["task"].startswith("upload:")
    (prompts,) = (tmp_path / "out").glob("runs/*/prompts.json")
    text = prompts.read_text()
    assert "was great." in text or "was awful." in text
    assert '"good"' in text or '"bad"' in text

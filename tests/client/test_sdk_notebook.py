"""examples/sdk_walkthrough.ipynb, executed cell by cell in a real Jupyter kernel (nbclient)
against a running stack, so the notebook cannot rot: what it writes must equal what the API
serves."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "examples" / "sdk_walkthrough.ipynb"


def test_the_committed_notebook_carries_no_outputs() -> None:
    """Outputs are made by running it; committed ones would only go stale."""
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has code cells"
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)


@pytest.mark.services
def test_the_notebook_runs_against_the_stack(
    surface_stack: Any,
    user_key: str,
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    out = tmp_path / "out"
    # the kernel inherits this process's environment
    monkeypatch.setenv("ICL_IT_URL", surface_stack.url)
    monkeypatch.setenv("ICL_IT_API_KEY", user_key)
    monkeypatch.setenv("ICL_IT_NOTEBOOK_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("ICL_IT_NOTEBOOK_OUT", str(out))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure

    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    submitted = next(line for line in text.splitlines() if line.startswith("submitted "))
    experiment_id = submitted.split()[1]
    assert "succeeded 2/2 runs" in text

    # the tables it wrote are the API's, and hold the curves it plotted
    auth = {"Authorization": f"Bearer {user_key}"}
    with httpx.Client(base_url=surface_stack.url, headers=auth, timeout=30) as http:
        served = http.get(f"/v1/experiments/{experiment_id}/results?format=csv").content
        results = http.get(f"/v1/experiments/{experiment_id}/results").json()
    assert (out / "cells.csv").read_bytes() == served
    rows = list(csv.DictReader(io.StringIO(served.decode())))
    assert {r["demos.k"] for r in rows} == {"1", "2"}
    for cell in results["cells"]:
        mean = cell["metrics"]["shift_cosine"]["icl_it"]["mean"]
        got = {
            int(r["layer"]): float(r["mean"])
            for r in rows
            if (r["cell"], r["metric"], r["pair"]) == (cell["cell"], "shift_cosine", "icl_it")
            and r["mean"]
        }
        assert got == {i: v for i, v in enumerate(mean) if v is not None}
    assert (out / "layers.png").read_bytes().startswith(b"\x89PNG")
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "data" in o]
    assert any("image/png" in o["data"] for o in shown), "the figure is shown inline"
    assert (out / "examples.csv").stat().st_size > 0
    assert "matched - mismatched per example" in text

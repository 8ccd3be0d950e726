"""An integration script as a lab engineer would write it with the SDK.

Type-checked with ``mypy --strict`` and run against a live stack by test_sdk_e2e.py:
python sdk_workflow.py URL TINY_MODEL_DIR OUT_DIR OTHER_KEY

The script's own key is the SDK's default ($ICL_IT_API_KEY, else $ICL_IT_HOME/api_key);
OTHER_KEY is a second registered key (another owner).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from icl_it_sdk import (
    Conflict,
    Experiment,
    IclIt,
    NotFound,
    Results,
    ResultsDocument,
    ResultsLayerStats,
    Unauthorized,
    ValidationFailed,
)


def check_submit(api: IclIt, spec: dict[str, Any], out: Path) -> Experiment:
    """Typos are errors naming each field, all at once, with the closest valid name; a
    spec file is submitted as it is; an Idempotency-Key is not reused."""
    try:
        api.submit({**spec, "demos": {"k": 0, "selektion": "random"}})
        raise AssertionError("a misspelt key was accepted")
    except ValidationFailed as exc:
        assert exc.status == 422
        by_path = {e.path: e.msg for e in exc.errors}
        assert set(by_path) == {"demos.k", "demos.selektion"}, exc.errors
        assert "did you mean 'selection'?" in by_path["demos.selektion"]

    spec_file = out / "spec.yaml"
    spec_file.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in spec.items()))
    experiment = api.submit_file(spec_file, idempotency_key="sdk-once")
    try:
        api.submit({**spec, "name": "other"}, idempotency_key="sdk-once")
        raise AssertionError("an Idempotency-Key was reused")
    except Conflict as exc:
        assert exc.problem.status == 409 and exc.problem.title
    return experiment


def check_results(api: IclIt, experiment_id: str) -> None:
    """The typed results document with cells named by their factors, the same document
    untyped, exactly as served, and its long table as a pandas DataFrame."""
    results: Results = api.results(experiment_id)
    assert results.schema == "icl-it/results/v1"
    labels = results.labels()
    assert len(set(labels)) == len(labels) == len(results.cells)
    assert all(label != c.cell for label, c in zip(labels, results.cells, strict=True))
    cell = results.cell(labels[0])
    assert cell is results.cells[0] and results.cell(cell.cell) is cell
    table = results.to_pandas()
    assert set(table["label"]) == set(labels) and set(table["cell"]) == {
        c.cell for c in results.cells
    }
    assert {"metric", "pair", "layer", "mean", "ci_low"} <= set(table.columns)
    icl_it: ResultsLayerStats = cell.metrics["cosine"]["icl_it"]
    # the layer axis: embeddings, each block, the final norm (n_layers + 2 entries)
    assert len(icl_it.mean) == cell.n_layers + 2 == len(cell.layer_names)
    assert results.statements[0].kind == "primary" and results.statements[0].text
    raw = api.results_json(experiment_id)
    assert ResultsDocument.from_dict(raw).to_dict() == raw == results.to_dict()


def check_listings_and_downloads(api: IclIt, experiment_id: str, out: Path) -> None:
    """Iterators walk every page; downloads as bytes and streamed to a file; exports."""
    ids = [e.id for e in api.experiments(page_size=1)]
    assert experiment_id in ids and len(ids) == len(set(ids))
    events = list(api.events(experiment_id, page_size=2))
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[-1].type_ == "experiment.succeeded"

    for artifact in api.artifacts(experiment_id):
        data = api.download_bytes(experiment_id, artifact.id)
        if isinstance(artifact.sha256, str):
            assert hashlib.sha256(data).hexdigest() == artifact.sha256
        path = api.download_to(experiment_id, artifact.id, out / f"{artifact.id}.bin")
        assert path.read_bytes() == data

    table = pq.read_table(io.BytesIO(api.export(experiment_id, "parquet")))
    assert table.num_rows > 0 and "ci_low" in table.column_names

    try:
        api.experiment("0" * 32)
        raise AssertionError("no 404")
    except NotFound as exc:
        assert "not found" in (exc.detail or "")


def check_isolation(url: str, experiment_id: str, other_key: str) -> None:
    """Another registered key sees nothing of this one's; an unregistered key is refused."""
    with IclIt(url, api_key=other_key) as other:
        for read in (other.results, other.experiment):
            try:
                read(experiment_id)
                raise AssertionError(f"another key could {read.__name__}")
            except NotFound:
                pass
        assert experiment_id not in [e.id for e in other.experiments(page_size=1)]

    with IclIt(url, api_key="somebody-else") as stranger:
        try:
            stranger.results(experiment_id)
            raise AssertionError("an unregistered key was accepted")
        except Unauthorized as exc:
            assert exc.status == 401


def main(url: str, model_dir: str, out: Path, other_key: str) -> None:
    """Submit, wait with progress, read the results, list, download; then isolation."""
    spec = {
        "name": "sdk",
        "model": {"name": model_dir},
        "inference": {"n": 4},
        "demos": {"k": 2},
        "lora": {"epochs": 2},
        "controls": [],
    }
    with IclIt(url) as api:
        experiment = check_submit(api, spec, out)
        fractions: list[float] = []

        def on_progress(e: Experiment) -> None:
            fractions.append(e.progress.fraction)

        done = api.wait(experiment.id, timeout=180, on_progress=on_progress, poll_interval=0.2)
        assert done.status.value == "succeeded", done.error
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        check_results(api, done.id)
        check_listings_and_downloads(api, done.id, out)
    check_isolation(url, done.id, other_key)
    print("sdk workflow ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4])

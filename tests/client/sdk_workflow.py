"""An integration script as a lab engineer would write it with the SDK.

Type-checked with ``mypy --strict`` and run against a live stack by test_sdk_e2e.py:
python sdk_workflow.py URL TINY_MODEL_DIR OUT_DIR OTHER_KEY

The script's own key is the SDK's default ($ICL_IT_API_KEY, else $ICL_IT_HOME/api_key);
OTHER_KEY is a second registered key (another owner).
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import pyarrow.parquet as pq
from icl_it_sdk import (
    Conflict,
    Experiment,
    IclIt,
    NotFound,
    ResultsDocument,
    ResultsLayerStats,
    Unauthorized,
    ValidationFailed,
)


def main(url: str, model_dir: str, out: Path, other_key: str) -> None:
    spec = {
        "name": "sdk",
        "model": {"name": model_dir},
        "inference": {"n": 4},
        "demos": {"k": 2},
        "lora": {"epochs": 2},
        "controls": [],
    }
    with IclIt(url) as api:
        # a typo is an error naming the field, never a silent default
        try:
            api.submit({**spec, "demos": {"k": 2, "selektion": "random"}})
            raise AssertionError("a misspelt key was accepted")
        except ValidationFailed as exc:
            assert exc.status == 422
            assert any(e.path == "demos.selektion" for e in exc.errors), exc.errors

        experiment = api.submit(spec, idempotency_key="sdk-once")
        try:
            api.submit({**spec, "name": "other"}, idempotency_key="sdk-once")
            raise AssertionError("an Idempotency-Key was reused")
        except Conflict as exc:
            assert exc.problem.status == 409 and exc.problem.title

        fractions: list[float] = []

        def on_progress(e: Experiment) -> None:
            fractions.append(e.progress.fraction)

        done = api.wait(experiment.id, timeout=180, on_progress=on_progress, poll_interval=0.2)
        assert done.status.value == "succeeded", done.error
        assert fractions == sorted(fractions) and fractions[-1] == 1.0

        results: ResultsDocument = api.results(done.id)
        assert results.schema == "icl-it/results/v1"
        cell = results.cells[0]
        icl_it: ResultsLayerStats = cell.metrics["cosine"]["icl_it"]
        # the layer axis: embeddings, each block, the final norm (n_layers + 2 entries)
        assert len(icl_it.mean) == cell.n_layers + 2 == len(cell.layer_names)
        assert results.statements[0].kind == "primary" and results.statements[0].text
        # the same document untyped, exactly as served: the typed model loses nothing
        raw = api.results_json(done.id)
        assert ResultsDocument.from_dict(raw).to_dict() == raw == results.to_dict()

        # iterators walk every page
        ids = [e.id for e in api.experiments(page_size=1)]
        assert done.id in ids and len(ids) == len(set(ids))
        events = list(api.events(done.id, page_size=2))
        assert [e.id for e in events] == sorted(e.id for e in events)
        assert events[-1].type_ == "experiment.succeeded"

        # downloads: bytes, and streamed to a file
        for artifact in api.artifacts(done.id):
            data = api.download_bytes(done.id, artifact.id)
            if isinstance(artifact.sha256, str):
                assert hashlib.sha256(data).hexdigest() == artifact.sha256
            path = api.download_to(done.id, artifact.id, out / f"{artifact.id}.bin")
            assert path.read_bytes() == data

        table = pq.read_table(io.BytesIO(api.export(done.id, "parquet")))
        assert table.num_rows > 0 and "ci_low" in table.column_names

        try:
            api.experiment("0" * 32)
            raise AssertionError("no 404")
        except NotFound as exc:
            assert "not found" in (exc.detail or "")

    # another (registered) key sees nothing of this one's
    with IclIt(url, api_key=other_key) as other:
        try:
            other.results(done.id)
            raise AssertionError("another key read the results")
        except NotFound:
            pass
        try:
            other.experiment(done.id)
            raise AssertionError("another key read the experiment")
        except NotFound:
            pass
        assert done.id not in [e.id for e in other.experiments(page_size=1)]

    # a key nobody registered is refused outright
    with IclIt(url, api_key="somebody-else") as stranger:
        try:
            stranger.results(done.id)
            raise AssertionError("an unregistered key was accepted")
        except Unauthorized as exc:
            assert exc.status == 401
    print("sdk workflow ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4])

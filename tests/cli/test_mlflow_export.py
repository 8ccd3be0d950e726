"""``icl-it export ID --to mlflow``: a real tiny experiment logged to a real local MLflow
store, then read back with MLflow's own client and compared with results.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from services.cli.main import main
from services.common.spec import ExperimentSpec
from services.local.runner import run_experiment

mlflow_tracking = pytest.importorskip("mlflow.tracking")


@pytest.fixture(scope="module")
def run_dir(engine: Any, tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished in-process experiment: two cells (a swept factor), one control."""
    spec = ExperimentSpec(
        name="mlflow-tiny",
        model={"name": str(tiny_dir)},
        inference={"n": 4, "seed": 1},
        demos={"k": 2},
        lora={"epochs": 2},
        controls=["untuned_adapter"],
        sweep={"demos.label_noise": [0.0, 1.0]},
    )
    out = tmp_path_factory.mktemp("mlflow-run")
    run_experiment(spec, out, engine=engine)
    return out


def _scalars(value: Any, prefix: str = "") -> dict[str, Any]:
    """The spec's plain leaves by dotted path, walked independently of the exporter."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_scalars(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {} if isinstance(value, list) else {prefix: value}


def _export(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["export", *argv, "--to", "mlflow"]) == 0
    return capsys.readouterr().out.strip()


def check_mlflow_matches(client: Any, run_id: str, results: dict[str, Any]) -> None:
    """Params, statements, per-layer metric histories and artifacts equal the document."""
    parent = client.get_run(run_id)
    params = parent.data.params
    for key, value in _scalars(results["spec"]).items():
        assert params[key] == (value if isinstance(value, str) else json.dumps(value)), key
    assert json.loads(params["controls"]) == results["spec"]["controls"]
    statements = results["statements"]
    assert statements, "a finished experiment has statements"
    for s in statements:
        tag = f"statement.{s['study']}.{s['kind'].replace(':', '.')}"
        assert parent.data.tags[tag] == s["text"]
    assert statements[0]["text"] in parent.data.tags["mlflow.note.content"]

    names = {f.path for f in client.list_artifacts(run_id)}
    assert {"results.json", "report.html", "statements.md", "cells.csv", "figures"} <= names
    figures = client.list_artifacts(run_id, "figures")
    assert figures and all(f.path.endswith(".png") and f.file_size > 0 for f in figures)
    local = Path(client.download_artifacts(run_id, "results.json"))
    assert json.loads(local.read_text()) == results

    experiment_id = parent.info.experiment_id
    children = client.search_runs(
        [experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'"
    )
    by_cell = {c.data.params["cell"]: c for c in children}
    assert set(by_cell) == {cell["cell"] for cell in results["cells"]}
    for cell in results["cells"]:
        child = by_cell[cell["cell"]]
        assert child.data.params["control"] == cell["control"]
        for factor, value in cell["factors"].items():
            assert child.data.params[f"factor.{factor}"] == json.dumps(value)
        for metric, per_pair in cell["metrics"].items():
            for pair, block in per_pair.items():
                history = client.get_metric_history(child.info.run_id, f"{metric}/{pair}")
                got = {m.step: m.value for m in history}
                want = {i: v for i, v in enumerate(block["mean"]) if v is not None}
                assert got.keys() == want.keys(), (metric, pair)
                assert all(math.isclose(got[i], want[i], rel_tol=0, abs_tol=0) for i in want)
        for condition, acc in cell["accuracy"].items():
            assert child.data.metrics[f"accuracy/{condition}"] == acc["mean"]
        test = cell["primary"]["pairing_test"]
        [diff] = client.get_metric_history(child.info.run_id, "primary/mean_diff")
        assert (diff.step, diff.value) == (cell["primary"]["layer"], test["mean_diff"])
        assert child.data.metrics["primary/p_value"] == test["p_value"]


def test_an_in_process_run_round_trips_through_mlflow(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("ICL_IT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "home").mkdir()
    run_id = _export([str(run_dir)], capsys)
    results = json.loads((run_dir / "results.json").read_text())

    # the default store: SQLite in the home directory, artifacts beside it
    uri = f"sqlite:///{(tmp_path / 'home' / 'mlflow.db').resolve()}"
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    check_mlflow_matches(client, run_id, results)
    experiment = client.get_experiment(client.get_run(run_id).info.experiment_id)
    assert experiment.name == "icl-it/mlflow-tiny"
    assert (tmp_path / "home" / "mlartifacts").is_dir()
    assert experiment.artifact_location == (tmp_path / "home" / "mlartifacts").resolve().as_uri()

    # once is enough: a second export finds the first; --replace logs it again
    assert _export([str(run_dir)], capsys) == run_id
    assert main(["export", str(run_dir), "--to", "mlflow", "--replace"]) == 0
    again = capsys.readouterr().out.strip()
    assert again != run_id
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    check_mlflow_matches(client, again, results)

    # an export cut short (its parent run not FINISHED) is logged again without --replace
    client.set_terminated(again, "FAILED")
    third = _export([str(run_dir)], capsys)
    assert third != again and client.get_run(again).info.lifecycle_stage == "deleted"
    assert client.get_run(third).info.status == "FINISHED"


def test_a_directory_without_results_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path), "--to", "mlflow"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("icl-it: ") and "results.json" in err and "Traceback" not in err


@pytest.mark.services
def test_an_experiment_of_the_api_round_trips_through_mlflow(
    surface_stack: Any,
    finished: dict[str, Any],
    user_key: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: Any,
) -> None:
    import httpx

    monkeypatch.setenv("ICL_IT_URL", surface_stack.url)
    monkeypatch.setenv("ICL_IT_API_KEY", user_key)
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    run_id = _export(
        [finished["id"], "--tracking-uri", uri, "--experiment-name", "from-the-api"], capsys
    )
    auth = {"Authorization": f"Bearer {user_key}"}
    url = f"{surface_stack.url}/v1/experiments/{finished['id']}/results"
    results = httpx.get(url, headers=auth, timeout=30).json()
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    check_mlflow_matches(client, run_id, results)
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "from-the-api"
    # artifacts beside the database, not in ./mlruns of wherever the command ran
    assert experiment.artifact_location == (tmp_path / "mlartifacts").resolve().as_uri()
    assert run.data.tags["icl_it.experiment_id"] == finished["id"]

"""End to end on the embedded defaults: no DATABASE_URL, no REDIS_URL.

SQLite for the rows, Celery's SQLAlchemy transport on SQLite as the broker, a local
artifact directory, and real worker processes, exactly as ``make up`` runs them.
"""

from __future__ import annotations

import pytest

from tests.fixtures.helpers import (
    events,
    running_stack,
    stack_env,
    tiny_spec,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("stack-embedded")
    with running_stack(stack_env(home, tiny_model_dir), home / "stack.log") as (s, client):
        assert (home / "icl_it.db").exists()
        yield s, client, home


def test_embedded_submit_poll_results(stack, tiny_model_dir):
    _, client, home = stack
    ready = client.get("/readyz").json()
    assert ready["checks"] == {"database": "ok", "broker": "ok"}
    r = client.post("/v1/experiments", json=tiny_spec(tiny_model_dir, seeds=[0, 1]))
    assert r.status_code == 202, r.text
    exp_id = r.json()["id"]
    done = wait_status(client, exp_id, timeout=150)
    assert done["status"] == "succeeded", done
    assert [run["status"] for run in done["runs"]] == ["succeeded", "succeeded"]
    results = client.get(f"/v1/experiments/{exp_id}/results").json()
    assert results["schema"] == "icl-it/results/v1" and len(results["runs"]) == 2
    assert client.get(f"/v1/experiments/{exp_id}/report").status_code == 200
    (home / "broker.db").stat()  # the broker really is the SQLite file
    states = [
        a
        for a in client.get(f"/v1/experiments/{exp_id}/artifacts").json()["data"]
        if a["kind"] == "states"
    ]
    assert len(states) == 2
    assert (home / "artifacts" / "experiments" / exp_id).is_dir()


def test_embedded_cancel(stack, tiny_model_dir):
    _, client, _ = stack
    spec = tiny_spec(tiny_model_dir, inference={"n": 8}, lora={"epochs": 20}, seeds=[0, 1, 2])
    exp_id = client.post("/v1/experiments", json=spec).json()["id"]
    wait_for(
        lambda: any(e["type"] == "run.progress" for e in events(client, exp_id)),
        60,
        "the first run to make progress",
    )
    assert client.post(f"/v1/experiments/{exp_id}/cancel").status_code == 202
    assert wait_status(client, exp_id, timeout=60)["status"] == "cancelled"


def test_client_generated_from_served_openapi_runs_an_experiment(stack, tiny_model_dir, tmp_path):
    """Someone else's generator (openapi-python-client), no hand edits: submit, poll, results."""
    import importlib
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    generator = shutil.which("openapi-python-client") or str(
        Path(sys.executable).with_name("openapi-python-client")
    )
    if not Path(generator).exists():
        pytest.skip("openapi-python-client is not installed")
    s, client, _ = stack
    (tmp_path / "openapi.json").write_text(client.get("/openapi.json").text)
    subprocess.run(
        [generator, "generate", "--path", "openapi.json", "--output-path", "gen", "--meta", "none"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        gen = importlib.import_module("gen")
        ops = {p.stem: p.stem for p in (tmp_path / "gen" / "api" / "experiments").glob("*.py")}

        def op(name: str):  # module names follow the operationIds
            (module,) = [m for m in ops if m == name or m.startswith(name + "_v1_")]
            return importlib.import_module(f"gen.api.experiments.{module}")

        submit, get, results = op("submit_experiment"), op("get_experiment"), op("get_results")
        models = importlib.import_module("gen.models")

        api = gen.AuthenticatedClient(base_url=s.url, token=s.api_key)
        spec = models.ExperimentSpec.from_dict(tiny_spec(tiny_model_dir))
        created = submit.sync(client=api, body=spec)
        assert isinstance(created, models.Experiment), created
        deadline = time.monotonic() + 120
        while (exp := get.sync(created.id, client=api)).status not in (
            "succeeded",
            "failed",
            "cancelled",
        ):
            assert time.monotonic() < deadline, exp.status
            time.sleep(0.5)
        assert exp.status == "succeeded"
        doc = results.sync(created.id, client=api).to_dict()
        assert doc["schema"] == "icl-it/results/v1"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "gen" or m.startswith("gen.")]:
            del sys.modules[name]


def test_uploaded_dataset_runs_end_to_end(stack, tiny_model_dir):
    import json

    _, client, _ = stack
    rows = [
        {"text": f"item {i} is {'fine' if i % 2 else 'awful'}", "label": ["bad", "good"][i % 2]}
        for i in range(24)
    ]
    body = "\n".join(json.dumps(r) for r in rows).encode()
    ds = client.post("/v1/datasets", content=body)
    assert ds.status_code == 201, ds.text
    spec = tiny_spec(tiny_model_dir, data={"task": ds.json()["task"]})
    exp_id = client.post("/v1/experiments", json=spec).json()["id"]
    done = wait_status(client, exp_id, timeout=120)
    assert done["status"] == "succeeded", done

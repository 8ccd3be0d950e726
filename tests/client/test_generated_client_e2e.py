"""End to end through generated clients, on the embedded default (SQLite + SQLAlchemy broker).

The stack is real: uvicorn and both Celery workers as child processes (services.local.stack),
the tiny random-init Llama as the model. Two clients drive it:

- one generated *now* by openapi-python-client from the served /openapi.json, into a
  temp dir, imported as it comes out (someone else's generator, no hand edits);
- the committed one, through ``icl-it submit --wait --report`` (services.cli.remote).
"""

from __future__ import annotations

import argparse
import importlib
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.services

EXTERNAL_URLS = ("DATABASE_URL", "REDIS_URL", "ARTIFACT_URL")
TERMINAL = {"succeeded", "failed", "cancelled"}
FRESH_PACKAGE = "fresh_icl_it_client"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tiny_spec(model_dir: Path) -> dict[str, Any]:
    return {
        "name": "client-e2e",
        "model": {"name": str(model_dir)},
        "inference": {"n": 4},
        "demos": {"k": 2},
        "lora": {"epochs": 1},
        "controls": [],
    }


@pytest.fixture(scope="module")
def embedded_stack(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, model_cache_dir: Path
) -> Iterator[Any]:
    """API + gpu worker + analysis worker on SQLite in a temp ICL_IT_HOME."""
    from services.local.stack import Stack

    home = tmp_path_factory.mktemp("client-e2e-home")
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL_URLS}
    env.update(
        ICL_IT_HOME=str(home),
        ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent),
        ICL_IT_MODEL_CACHE=str(model_cache_dir),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    log_path = home / "stack.log"
    with open(log_path, "w", buffering=1) as log:
        stack = Stack(env, port=_free_port(), log=log)
        try:
            stack.start()
            stack.wait_ready(timeout=60)
            yield stack
        except BaseException:
            print(log_path.read_text()[-5000:])
            raise
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def fresh_client(
    embedded_stack: Any,
    tmp_path_factory: pytest.TempPathFactory,
    generate_client: Callable[..., tuple[Path, str]],
) -> Iterator[Any]:
    """A client package generated from the served /openapi.json, imported from a temp dir."""
    out, _ = generate_client(
        tmp_path_factory.mktemp("fresh-client") / "python",
        url=f"{embedded_stack.url}/openapi.json",
        package=FRESH_PACKAGE,
    )
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(FRESH_PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] == FRESH_PACKAGE]:
            del sys.modules[name]


def test_fresh_generated_client_submits_polls_and_fetches_results(
    embedded_stack: Any, fresh_client: Any, tiny_model_dir: Path
) -> None:
    pkg = FRESH_PACKAGE
    experiments = importlib.import_module(f"{pkg}.api.experiments")
    models = importlib.import_module(f"{pkg}.models")
    ops = {
        name: importlib.import_module(f"{pkg}.api.experiments.{module}")
        for name, module in _operation_modules(experiments).items()
    }
    client = fresh_client.AuthenticatedClient(
        base_url=embedded_stack.url, token=embedded_stack.api_key, raise_on_unexpected_status=True
    )

    body = models.ExperimentSpec.from_dict(_tiny_spec(tiny_model_dir))
    submitted = ops["submit"].sync_detailed(client=client, body=body)
    assert submitted.status_code == 202, submitted.content
    experiment = submitted.parsed
    assert isinstance(experiment, models.Experiment)
    assert submitted.headers["location"] == f"/v1/experiments/{experiment.id}"

    deadline = time.monotonic() + 45
    while experiment.status.value not in TERMINAL:
        assert time.monotonic() < deadline, f"still {experiment.status.value} after 45 s"
        embedded_stack.check_alive()
        time.sleep(0.5)
        experiment = ops["get"].sync(experiment.id, client=client)
        assert isinstance(experiment, models.Experiment)
    assert experiment.status.value == "succeeded", experiment.error
    assert experiment.progress.completed_runs == experiment.progress.total_runs == 1
    assert all(run.status.value == "succeeded" for run in experiment.runs)

    results = ops["results"].sync(experiment.id, client=client).to_dict()
    assert results["cells"], results.keys()
    cell = results["cells"][0]
    assert {"icl_it", "anchor_icl", "anchor_it"} <= set(cell["metrics"]["cosine"])

    report = ops["report"].sync(experiment.id, client=client)
    assert isinstance(report, str) and "<html" in report.lower()


def _operation_modules(experiments: Any) -> dict[str, str]:
    """Find the generated modules by their operation, whatever operationIds the app uses."""
    folder = Path(experiments.__file__).parent
    names = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"]

    def one(prefix: str) -> str:
        matches = [n for n in names if n.startswith(prefix)]
        assert len(matches) == 1, (prefix, names)
        return matches[0]

    return {
        "submit": one("submit_experiment"),
        "get": one("get_experiment"),
        "results": one("get_results"),
        "report": one("get_report"),
    }


def test_cli_submit_wait_writes_table_and_report(
    embedded_stack: Any,
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`icl-it submit SPEC --wait --report` through the committed client."""
    import yaml

    from services.cli import remote as client_cli

    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(yaml.safe_dump(_tiny_spec(tiny_model_dir)))
    monkeypatch.setenv("ICL_IT_URL", embedded_stack.url)
    monkeypatch.delenv("ICL_IT_API_KEY", raising=False)
    # the same ICL_IT_HOME as the stack: the CLI finds the local key the stack wrote there
    monkeypatch.setenv("ICL_IT_HOME", embedded_stack.env["ICL_IT_HOME"])
    monkeypatch.setattr(client_cli, "POLL_INTERVAL_S", 0.5)
    args = argparse.Namespace(
        spec=str(spec_path),
        preset=None,
        scale=None,
        set=["name=cli-e2e"],
        wait=True,
        report=str(tmp_path / "report.html"),
        idempotency_key=None,
    )
    assert client_cli.submit(args) == 0
    out = capsys.readouterr().out
    experiment_id = out.splitlines()[0].strip()
    assert "ICL-IT" in out and "cosine" in out  # the summary table
    assert "<html" in (tmp_path / "report.html").read_text().lower()

    assert client_cli.status(argparse.Namespace(id=experiment_id)) == 0
    assert "status:   succeeded" in capsys.readouterr().out

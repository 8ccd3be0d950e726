"""The committed OpenAPI document and client, and the CLI that uses them (no workers).

The CLI tests run the real app in-process (SQLite, a queue that only records) behind
Starlette's TestClient, which the generated client takes as its httpx client.
"""

from __future__ import annotations

import argparse
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.cli import experiments_cmds
from services.cli import remote as client_cli
from services.common.runtime.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = str(REPO / "examples" / "default.yaml")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not {"__pycache__", ".ruff_cache"} & set(p.parts)
        and ".egg-info" not in str(p)
    }


def test_openapi_json_is_what_the_app_serves() -> None:
    from services.api.export_openapi import openapi_json

    committed = (REPO / "openapi.json").read_text()
    assert committed == openapi_json(), "openapi.json is stale: run `make client`"


def test_openapi_json_generates_a_complete_client(
    tmp_path: Path, generate_client: Callable[..., tuple[Path, str]]
) -> None:
    """Every path and schema survives someone else's generator, without warnings."""
    out, log = generate_client(tmp_path / "python", path=REPO / "openapi.json")
    assert "Warning" not in log and "WARNING" not in log, log
    assert (out / "icl_it_client" / "models" / "experiment.py").exists()


def test_committed_client_is_the_generated_one(
    tmp_path: Path, generate_client: Callable[..., tuple[Path, str]]
) -> None:
    """clients/python is exactly the generator's output for openapi.json (no hand edits)."""
    out, _ = generate_client(tmp_path / "python", path=REPO / "openapi.json")
    fresh, committed = _tree(out), _tree(REPO / "clients" / "python")
    assert sorted(fresh) == sorted(committed), "clients/python is stale: run `make client`"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"clients/python differs from the generator's output: {changed}"


# -- the CLI against the in-process app --------------------------------------------------


class RecordingQueue:
    def __init__(self) -> None:
        self.runs: list[str] = []

    def enqueue_runs(self, run_ids: list[str]) -> None:
        self.runs.extend(run_ids)

    def enqueue_finalize(self, experiment_id: str) -> None:
        pass

    def ping(self) -> None:
        pass


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingQueue]:
    """The real app on a temp SQLite file; client_cli.make_client talks to it in-process."""
    from fastapi.testclient import TestClient

    from services.api.main import create_app
    from services.common.db import migrate

    settings = Settings(
        ICL_IT_HOME=tmp_path,
        DATABASE_URL=None,
        REDIS_URL=None,
        ARTIFACT_URL=None,
        ICL_IT_ALLOW_ANONYMOUS=True,  # the CLI's HTTP behaviour is tested here, not auth
    )
    migrate(settings.db_url)
    queue = RecordingQueue()
    app = create_app(settings, queue=queue, run_migrations=False)
    with TestClient(app) as http:

        def make_client(url: str | None = None, api_key: str | None = None) -> Any:
            return client_cli.Client(base_url=str(http.base_url)).set_httpx_client(http)

        monkeypatch.setattr(client_cli, "make_client", make_client)
        yield queue


def _submit_args(*overrides: str, key: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(
        spec=DEFAULT_SPEC,
        preset=None,
        scale=None,
        set=list(overrides),
        wait=False,
        report=None,
        idempotency_key=key,
    )


def test_submit_prints_the_id_and_status_shows_progress(
    api: RecordingQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client_cli.submit(_submit_args()) == 0
    experiment_id = capsys.readouterr().out.strip()
    assert len(api.runs) >= 1

    assert client_cli.status(argparse.Namespace(id=experiment_id)) == 0
    out = capsys.readouterr().out
    assert experiment_id in out
    assert "status:   queued" in out
    assert f"progress: 0/{len(api.runs)} runs" in out


def test_same_idempotency_key_returns_the_first_experiment(
    api: RecordingQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client_cli.submit(_submit_args(key="once")) == 0
    first = capsys.readouterr().out.strip()
    assert client_cli.submit(_submit_args(key="once")) == 0
    assert capsys.readouterr().out.strip() == first

    assert client_cli.submit(_submit_args("inference.n=3", key="once")) == 1
    assert "HTTP 409 Conflict" in capsys.readouterr().err


def test_results_before_the_end_is_a_clear_409(
    api: RecordingQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client_cli.submit(_submit_args()) == 0
    experiment_id = capsys.readouterr().out.strip()
    assert experiments_cmds.results(argparse.Namespace(id=experiment_id, table=False)) == 1
    err = capsys.readouterr().err
    assert "HTTP 409 Conflict" in err and "queued" in err


def test_unknown_id_is_a_clear_404(api: RecordingQueue, capsys: pytest.CaptureFixture[str]) -> None:
    assert client_cli.status(argparse.Namespace(id="nope")) == 1
    assert "HTTP 404 Not found" in capsys.readouterr().err


def test_invalid_spec_is_rejected_locally_naming_the_field(
    api: RecordingQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client_cli.submit(_submit_args("demos.k=-1")) == 2
    assert "demos.k" in capsys.readouterr().err
    assert api.runs == []


def test_server_side_validation_errors_name_the_field(
    api: RecordingQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the server knows the uploads: its 422 problem document is shown field by field."""
    missing = "0" * 32
    assert client_cli.submit(_submit_args(f"data.task=upload:{missing}")) == 1
    err = capsys.readouterr().err
    assert "HTTP 422" in err
    assert f"  data.task: no uploaded dataset '{missing}'" in err  # by its path in the spec
    assert err.count("no uploaded dataset") == 1  # once (issue 20)


def test_unreachable_api_says_where_it_looked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("ICL_IT_URL", url)
    assert client_cli.status(argparse.Namespace(id="x")) == 1
    assert f"cannot reach the API at {url}" in capsys.readouterr().err


def test_api_key_is_sent_as_bearer_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ICL_IT_HOME", str(tmp_path))  # no local key file here
    monkeypatch.setenv("ICL_IT_API_KEY", "secret")
    client = client_cli.make_client("http://example.invalid")
    assert client.get_httpx_client().headers["Authorization"] == "Bearer secret"
    monkeypatch.delenv("ICL_IT_API_KEY")
    client = client_cli.make_client("http://example.invalid")
    assert "Authorization" not in client.get_httpx_client().headers
    (tmp_path / "api_key").write_text("iclit_local\n")  # what the local stack writes
    client = client_cli.make_client("http://example.invalid")
    assert client.get_httpx_client().headers["Authorization"] == "Bearer iclit_local"


def test_problem_documents_render_title_detail_and_fields() -> None:
    from http import HTTPStatus

    from icl_it_client.types import Response

    body = {
        "type": "https://icl-it.invalid/problems/validation-error",
        "title": "Request validation failed",
        "status": 422,
        "detail": "body.demos.k: must be >= 0",
        "errors": [{"loc": ["body", "demos", "k"], "msg": "must be >= 0", "type": "x"}],
    }
    response = Response(
        status_code=HTTPStatus(422), content=json.dumps(body).encode(), headers={}, parsed=None
    )
    text = str(client_cli.ApiError.from_response(response))
    # each field error once, by its path in the spec; the detail (the same errors on one
    # line) is not printed again (issue 20: "body: body: ..." twice)
    assert text.splitlines() == ["HTTP 422 Request validation failed:", "  demos.k: must be >= 0"]
    two = {**body, "errors": body["errors"] * 2}
    response = Response(
        status_code=HTTPStatus(422), content=json.dumps(two).encode(), headers={}, parsed=None
    )
    assert str(client_cli.ApiError.from_response(response)).startswith(
        "HTTP 422 Request validation failed (2 errors):\n"
    )
    plain = Response(status_code=HTTPStatus(502), content=b"bad gateway", headers={}, parsed=None)
    assert str(client_cli.ApiError.from_response(plain)) == "HTTP 502 Bad Gateway: bad gateway"


def test_report_before_the_end_is_a_clear_409(api: RecordingQueue) -> None:
    """The report route answers HTML, but its errors are problem documents like any other."""
    from services.cli.specs import load_spec

    client = client_cli.make_client()
    experiment = client_cli.submit_spec(client, load_spec(DEFAULT_SPEC, None, None, []))
    with pytest.raises(client_cli.ApiError) as info:
        client_cli.get_report(client, experiment.id)
    assert info.value.status == 409
    assert "queued" in (info.value.detail or "")

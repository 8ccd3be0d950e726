"""list / wait / results --table / delete / artifacts / datasets and short ids, against the
real app in-process (SQLite, the real artifact store, a queue that only records; no
workers): experiments are finished with the job transition the workers use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.cli import remote
from services.cli.main import main
from services.common import db, jobs
from services.common.db import keys
from services.common.db.status import ExperimentStatus
from services.common.runtime.settings import Settings
from services.common.storage.layout import RESULTS_FILE, experiment_file_key
from tests.fixtures.api import RecordingQueue

REPO = Path(__file__).resolve().parents[2]
SPEC = str(REPO / "examples" / "default.yaml")
RESULTS = REPO / "docs" / "reports" / "duan2023-smoke" / "results.json"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app with its own SQLite database and store; the CLI's client talks to it."""
    from fastapi.testclient import TestClient

    from services.api.main import create_app

    settings = Settings(
        ICL_IT_HOME=tmp_path, DATABASE_URL=None, REDIS_URL=None, ARTIFACT_URL=None,
        ICL_IT_MAX_ACTIVE_EXPERIMENTS=100,
    )  # fmt: skip
    db.migrate(settings.db_url)
    application = create_app(settings, queue=RecordingQueue(), run_migrations=False)
    with db.session_scope(settings.db_url) as s:
        _, key = keys.create_key(s, "cli-manage")
        s.commit()
    with TestClient(application, headers={"Authorization": f"Bearer {key}"}) as http:
        monkeypatch.setattr(
            remote,
            "make_client",
            lambda *a, **k: remote.Client(base_url=str(http.base_url)).set_httpx_client(http),
        )
        yield application


def submit(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["submit", SPEC, "--set", "inference.n=4", *extra]) == 0
    return capsys.readouterr().out.strip()


def finish(app: Any, experiment_id: str, status: ExperimentStatus, **keys: str) -> None:
    with db.session_scope(app.state.settings.db_url) as s:
        assert jobs.finish_experiment(s, experiment_id, status, **keys)
        s.commit()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_has_headers_aligned_columns_filters_and_an_empty_message(app, capsys):
    assert run(capsys, "list") == (0, "no experiments\n", "")
    tagged = submit(capsys, "--tag", "baseline", "--tag", "k=8")
    plain = submit(capsys)
    finish(app, plain, ExperimentStatus.FAILED)
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == [
        "ID", "STATUS", "RUNS", "DONE", "CREATED", "NAME", "TAGS"
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == [plain[:12], tagged[:12]]
    # every column starts where its header does
    for header in ("STATUS", "CREATED", "NAME"):
        col = lines[0].index(header)
        assert all(line[col - 2 : col] == "  " and line[col] != " " for line in lines[1:])
    assert lines[2].endswith("baseline,k=8")

    assert run(capsys, "list", "--tag", "baseline")[1].count("\n") == 2
    assert plain[:12] in run(capsys, "list", "--status", "failed")[1]
    assert tagged[:12] not in run(capsys, "list", "--status", "failed")[1]
    assert run(capsys, "list", "--status", "running")[1] == "no experiments match status=running\n"
    code, out, _ = run(capsys, "list", "--name", "NOPE", "--tag", "a", "--tag", "b")
    assert out == "no experiments match name=NOPE tag=a,b\n"
    assert tagged in run(capsys, "list", "--full-ids", "--limit", "5")[1]


def test_bad_tag_is_refused_before_submitting(app, capsys):
    code, out, err = run(capsys, "submit", SPEC, "--tag", "has space")
    assert code == 2 and out == "" and "should match pattern" in err


def test_unique_prefixes_work_and_ambiguous_or_unknown_ones_are_clear(app, capsys):
    ids = [submit(capsys) for _ in range(17)]  # 17 ids over 16 hex digits: two share one
    code, out, _ = run(capsys, "status", ids[0][:8])
    assert code == 0 and out.startswith(ids[0]) and "\ntags:     default\n" in out
    first = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    code, _, err = run(capsys, "cancel", first.upper())
    sharing = [i for i in ids if i.startswith(first)]
    assert code == 1 and f"id prefix {first!r} is ambiguous" in err
    assert all(i in err for i in sharing)
    code, _, err = run(capsys, "events", "f" * 31)
    assert code == 1 and "no experiment id starts with" in err and "Traceback" not in err


def test_wait_exit_status_says_how_it_ended(app, capsys):
    ok, bad, pending = submit(capsys), submit(capsys), submit(capsys)
    finish(app, ok, ExperimentStatus.SUCCEEDED)
    finish(app, bad, ExperimentStatus.FAILED)
    code, out, _ = run(capsys, "wait", ok[:10], "--quiet")
    assert code == 0 and out.split()[:2] == [ok, "succeeded"]
    code, out, _ = run(capsys, "wait", bad[:10], "--quiet")
    assert code == 1 and out.split()[:2] == [bad, "failed"]
    code, _, err = run(capsys, "wait", pending, "--quiet", "--timeout", "0.5")
    assert code == 124 and "still queued" in err


def test_results_table_artifact_sizes_and_delete(app, capsys):
    from services.analysis.tables import summary_table
    from services.common.storage.layout import experiment_prefix

    eid = submit(capsys)
    key = experiment_file_key(eid, RESULTS_FILE)
    app.state.store.put(key, RESULTS.read_bytes())
    code, _, err = run(capsys, "delete", eid, "--yes")  # not finished yet
    assert code == 1 and "HTTP 409" in err and "only a finished experiment" in err
    finish(app, eid, ExperimentStatus.SUCCEEDED, results_key=key)

    code, out, _ = run(capsys, "results", eid[:6], "--table")
    assert code == 0 and out == str(summary_table(json.loads(RESULTS.read_text()))) + "\n"
    assert json.loads(run(capsys, "results", eid[:6])[1]) == json.loads(RESULTS.read_text())

    code, out, _ = run(capsys, "artifacts", eid[:6])
    size = RESULTS.stat().st_size
    assert code == 0 and out.splitlines()[0].split() == ["ID", "KIND", "SIZE", "SHAPE"]
    shown = re.search(r"results\s+results\s+([\d.]+) (B|KiB|MiB)", out)
    assert shown is not None, out
    factor = {"B": 1, "KiB": 1024, "MiB": 1024**2}[shown.group(2)]
    assert abs(float(shown.group(1)) * factor - size) <= 0.05 * factor

    assert run(capsys, "delete", eid[:6], "--yes")[:2] == (0, f"deleted {eid}\n")
    assert app.state.store.sizes(experiment_prefix(eid)) == {}
    code, _, err = run(capsys, "status", eid)
    assert code == 1 and "HTTP 404" in err


def test_datasets_list_show_delete(app, capsys, tmp_path):
    assert run(capsys, "datasets", "list")[1].startswith("no datasets")
    data = tmp_path / "mine.jsonl"
    data.write_text('{"text": "great", "label": "pos"}\n{"text": "awful", "label": "neg"}\n')
    assert main(["datasets", "upload", str(data)]) == 0
    task = capsys.readouterr().out.strip()
    dataset_id = task.removeprefix("upload:")
    code, out, _ = run(capsys, "datasets", "list")
    assert code == 0 and out.splitlines()[0].split() == ["TASK", "KIND", "ROWS", "SIZE", "CREATED"]
    assert out.splitlines()[1].split()[:3] == [task, "classification", "2"]
    code, out, _ = run(capsys, "datasets", "show", dataset_id[:5])
    assert code == 0 and f"task:     {task}" in out and "rows:     2" in out
    code, _, err = run(capsys, "datasets", "show", "upload:" + "f" * 32)
    assert code == 1 and "no dataset" in err
    assert run(capsys, "datasets", "delete", task)[:2] == (0, f"deleted {task}\n")
    assert run(capsys, "datasets", "list")[1].startswith("no datasets")


def test_statuses_offered_by_list_are_the_servers(app):
    from services.cli.experiments_cmds import STATUSES

    assert list(STATUSES) == [s.value for s in ExperimentStatus]


def test_with_tags_keeps_the_spec_valid() -> None:
    from services.cli.specs import load_spec

    base = load_spec(SPEC, None, None, [])
    assert base.tags  # examples/default.yaml has its own
    spec = remote.with_tags(base, ["a", "a", "b", base.tags[0]])
    assert spec.tags == [*base.tags, "a", "b"]

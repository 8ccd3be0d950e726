"""The CLI's remote commands against a real stack: cancel, events, artifacts, download,
datasets upload, submit --data, report --open, export, list; plus --help, completion and
a closed pipe."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.cli.main import main

pytestmark = pytest.mark.services
REPO = Path(__file__).resolve().parents[2]
DATA = '{"text": "great", "label": "pos"}\n{"text": "awful", "label": "neg"}\n' * 4


@pytest.fixture
def cli_env(surface_stack: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """No $ICL_IT_API_KEY: the CLI finds the stack's local key in $ICL_IT_HOME/api_key."""
    monkeypatch.setenv("ICL_IT_URL", surface_stack.url)
    monkeypatch.setenv("ICL_IT_HOME", surface_stack.env["ICL_IT_HOME"])
    monkeypatch.delenv("ICL_IT_API_KEY", raising=False)
    return str(surface_stack.url)


def _get(surface_stack: Any, path: str) -> httpx.Response:
    """A direct API call with the stack's local key (the one the CLI uses here)."""
    auth = {"Authorization": f"Bearer {surface_stack.api_key}"}
    return httpx.get(f"{surface_stack.url}{path}", headers=auth, timeout=30)


def test_events_artifacts_download_list_and_export(
    cli_env: str,
    surface_stack: Any,
    finished: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    eid = finished["id"]
    assert main(["events", eid, "--follow"]) == 0  # returns: the experiment is final
    out = capsys.readouterr().out
    assert "experiment.queued" in out and "experiment.succeeded" in out
    assert "run.succeeded" in out

    assert main(["artifacts", eid]) == 0
    lines = capsys.readouterr().out.splitlines()
    states = next(line.split()[0] for line in lines if " states " in line)

    target = tmp_path / "states.safetensors"
    assert main(["download", eid, states, "-o", str(target)]) == 0
    listed = _get(surface_stack, f"/v1/experiments/{eid}/artifacts").json()["data"]
    want = next(a for a in listed if a["id"] == states)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == want["sha256"]

    assert main(["list"]) == 0
    assert eid[:12] in capsys.readouterr().out  # shortened: any unique prefix is an id

    out_csv = tmp_path / "cells.csv"
    assert main(["export", eid, "--format", "csv", "-o", str(out_csv)]) == 0
    assert out_csv.read_text().startswith("experiment,cell,label,control,studies,")
    assert main(["export", eid, "--format", "csv", "--per-example"]) == 0
    assert ",example_id,metric,pair,layer,layer_name,value" in capsys.readouterr().out


def test_report_open(
    cli_env: str,
    finished: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    path = tmp_path / "r.html"
    assert main(["report", finished["id"], "-o", str(path), "--open"]) == 0
    assert "<html" in path.read_text().lower()
    assert opened == [path.resolve().as_uri()]


def test_upload_submit_with_data_and_cancel(
    cli_env: str,
    surface_stack: Any,
    tiny_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text(DATA)
    assert main(["datasets", "upload", str(data)]) == 0
    task = capsys.readouterr().out.strip()
    assert task.startswith("upload:")

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "cancel-me",
                "model": {"name": str(tiny_model_dir)},
                "inference": {"n": 4},
                "demos": {"k": 2},
                "lora": {"epochs": 50},
                "seeds": [0, 1, 2, 3],
            }
        )
    )
    assert main(["submit", str(spec), "--data", str(data)]) == 0
    eid = capsys.readouterr().out.strip()
    body = _get(surface_stack, f"/v1/experiments/{eid}").json()
    assert body["spec"]["data"]["task"].startswith("upload:")

    assert main(["cancel", eid]) == 0
    assert capsys.readouterr().out.split()[1] in {"cancelling", "cancelled"}
    assert main(["events", eid, "--follow"]) == 0  # follows until cancelled, then returns
    body = _get(surface_stack, f"/v1/experiments/{eid}").json()
    assert body["status"] == "cancelled"


def test_results_into_a_closed_pipe_prints_no_traceback(
    cli_env: str, finished: dict[str, Any]
) -> None:
    cmd = f"{sys.executable} -m services.cli results {finished['id']} | head -n 2"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.stdout.startswith("{")


def test_unknown_experiment_is_one_line(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cancel", "nope"]) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_another_key_sees_nothing_and_a_made_up_key_is_refused(
    cli_env: str,
    finished: dict[str, Any],
    other_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    eid = finished["id"]
    monkeypatch.setenv("ICL_IT_API_KEY", other_key)  # a real key of another owner
    assert main(["list"]) == 0
    assert eid not in capsys.readouterr().out
    assert main(["results", eid]) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and "Traceback" not in err
    monkeypatch.setenv("ICL_IT_API_KEY", "made-up-key")  # not registered: refused
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "Traceback" not in err


# -- no stack needed ------------------------------------------------------------------


def test_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    from services.common.runtime.settings import Settings

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name, field in Settings.model_fields.items():
        assert str(field.validation_alias or name.upper()) in text
    for extra in ("ICL_IT_HUB_MODELS", "ICL_IT_MAX_MODEL_PARAMS", "ICL_IT_URL", "ICL_IT_API_KEY"):
        assert extra in text


def _completion(shell: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", "completion", shell],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_bash_completion_completes_commands_options_and_choices(tmp_path: Path) -> None:
    """The script shtab generates, sourced in a real bash and asked as bash asks."""
    script = tmp_path / "c.sh"
    script.write_text(_completion("bash"))
    asks = [("ex",), ("export", "x", "--p"), ("datasets", "s"), ("list", "--status", "r")]
    probe = f"source {script}; complete -p icl-it;"
    for words in asks:
        probe += f" COMP_WORDS=(icl-it {' '.join(words)}); COMP_CWORD={len(words)};"
        probe += ' COMPREPLY=(); _shtab_icl_it; echo "${COMPREPLY[*]}";'
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    registered, *answers = out.stdout.splitlines()
    assert registered.endswith("_shtab_icl_it icl-it"), out.stdout + out.stderr
    assert [a.split() for a in answers] == [["export"], ["--per-example"], ["show"], ["running"]]


@pytest.mark.parametrize("shell", ["zsh", "tcsh"])
def test_other_shells_get_a_script_naming_every_command(shell: str) -> None:
    from services.cli.main import build_parser

    text = _completion(shell)
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert all(name in text for name in commands)
    if shell == "zsh":
        assert text.startswith("#compdef icl-it")


def test_run_data_stores_the_file_where_the_engine_reads_uploads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cli.specs import load_spec, with_local_dataset
    from services.common.runtime.settings import get_settings
    from services.common.storage.artifacts import ArtifactStore
    from services.common.storage.datasets import load_upload
    from services.common.storage.layout import dataset_key

    monkeypatch.setenv("ICL_IT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        data = tmp_path / "mine.jsonl"
        data.write_text(DATA)
        spec = with_local_dataset(load_spec(None, None, None, []), data)
        task = spec.data.task
        assert task.startswith("upload:")
        raw = ArtifactStore(get_settings().artifacts).get(dataset_key(task.split(":", 1)[1]))
        assert load_upload(task.split(":", 1)[1], raw.decode()).labels == ("neg", "pos")
        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"text": "x"}) + "\n")
        assert main(["run", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    finally:
        get_settings.cache_clear()


def test_validation_errors_print_once_by_path_with_suggestions(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20: a spec the CLI accepts locally but the service refuses (an unknown task, a
    model off the allow-list) prints every error once, by path, with 'did you mean', and
    never the detail line again (nor a 'body.' prefix); so does a bad upload."""
    spec = tmp_path / "typo.yaml"
    spec.write_text("name: typo\ndata: {task: sentimnt}\nmodel: {name: lama-2-7b}\n")
    assert main(["submit", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "HTTP 422 Request validation failed (2 errors):" in err, err
    assert "  data.task: unknown task 'sentimnt'; did you mean 'sentiment'?" in err
    assert "  model.name: model 'lama-2-7b' is not allowed" in err and "'llama-2-7b'?" in err
    assert err.count("sentimnt") == 1 and "body" not in err

    rows = tmp_path / "mine.jsonl"
    rows.write_text('{not json}\n{"text": "great", "label": "pos"}\n')
    assert main(["datasets", "upload", str(rows)]) == 1
    err = capsys.readouterr().err
    assert "  body: line 1: " in err and err.count("line 1") == 1 and "body: body" not in err

"""Operator mistakes on the command line are one-line messages, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.main import main


@pytest.fixture
def local_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from services.common.runtime.settings import get_settings

    monkeypatch.setenv("ICL_IT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("name", ["a\x1bb", "", "x" * 65, "tab\tname"])
def test_keys_create_with_a_bad_name_is_a_message(local_home, capsys, name):
    assert main(["keys", "create", "--name", name]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "printable characters" in err
    assert "\x1b" not in err  # the name is shown escaped, not sent to the terminal


def test_keys_create_with_a_good_name_still_works(local_home, capsys):
    assert main(["keys", "create", "--name", "alice"]) == 0
    assert "created key" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("name: x\nseeds: [" + "9" * 5000 + "]\n", "digits"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_run_with_a_hostile_spec_file_is_a_message(local_home, capsys, text, needle):
    spec = local_home / "spec.yaml"
    spec.write_text(text)
    assert main(["run", str(spec), "--out", str(local_home / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and needle in err, err


def test_a_spec_file_with_typos_lists_every_problem_before_sending(
    local_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = local_home / "typos.yaml"
    spec.write_text("demos: {k: 0, selektion: random}\nlora: {loss_on: labl}\n")
    assert main(["submit", str(spec)]) == 2  # refused locally: no server needed
    err = capsys.readouterr().err
    assert "invalid spec (3 error(s)):" in err, err
    assert "  demos.k: " in err
    assert "  demos.selektion: unknown field 'selektion'; did you mean 'selection'?" in err
    assert "  lora.loss_on: " in err and "did you mean 'label'?" in err


def test_make_tiny_model_makes_missing_parents_and_refuses_in_one_line(tmp_path, capsys):
    target = tmp_path / "not" / "there" / "tiny"
    assert main(["make-tiny-model", str(target)]) == 0
    assert (target / "config.json").exists()
    assert capsys.readouterr().out.strip() == str(target)
    assert main(["make-tiny-model", "/proc/no-such/tiny"]) == 2  # /proc takes no new dirs
    err = capsys.readouterr().err
    assert (
        err.startswith("icl-it: cannot write a model to /proc/no-such/tiny")
        and "Traceback" not in err
    )
    assert err.count("\n") == 1

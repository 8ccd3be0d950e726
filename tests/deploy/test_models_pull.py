"""``icl-it models pull``: real snapshot_download code; no Hub is reachable here, so the
tests cover the help, the name checks and the error path of a failed download."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "models", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=60,
    )


def test_models_still_lists_the_catalog():
    out = cli()
    assert out.returncode == 0 and "llama-2-7b" in out.stdout


def test_pull_help():
    out = cli("pull", "--help")
    assert out.returncode == 0 and "HF_TOKEN" in out.stdout and "--cache-dir" in out.stdout


def test_pull_refuses_what_it_cannot_download():
    embedded = cli("pull", "smollm2-135m")
    assert embedded.returncode == 1 and "nothing to download" in embedded.stderr
    unknown = cli("pull", "not-a-model")
    assert unknown.returncode == 1 and "neither a catalog name" in unknown.stderr


def test_pull_reports_an_unreachable_hub(tmp_path: Path):
    # the Hub endpoint is a closed port on this machine: a quick, offline failure
    out = cli(
        "pull",
        "llama-2-7b",
        "--cache-dir",
        str(tmp_path),
        HF_ENDPOINT="http://127.0.0.1:9",
        HF_TOKEN="hf_test",
        HF_HUB_OFFLINE="1",  # the pull goes online all the same; that is its job
    )
    assert out.returncode == 1
    assert "could not download meta-llama/Llama-2-7b-hf" in out.stderr
    assert "Connect" in out.stderr

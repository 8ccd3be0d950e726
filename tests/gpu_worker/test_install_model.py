"""`make install` converts the embedded GGUF once, so the first run does not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_install_plans_the_conversion_when_the_cache_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "ICL_IT_HOME": str(tmp_path)}
    env.pop("ICL_IT_MODEL_CACHE", None)
    plan = subprocess.run(
        ["make", "-n", "install"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert plan.returncode == 0, plan.stderr
    assert "-m services.gpu_worker.models --prepare" in plan.stdout


def test_prepare_reports_the_cache(model_cache_dir: Path) -> None:
    """With the cache in place (the test session built it), preparing is a no-op."""
    env = {**os.environ, "ICL_IT_MODEL_CACHE": str(model_cache_dir), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "services.gpu_worker.models", "--prepare"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"embedded model ready: {model_cache_dir / 'smollm2-135m'}" in done.stdout

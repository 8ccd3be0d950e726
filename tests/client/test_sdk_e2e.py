"""The SDK: a user's script type-checks under ``mypy --strict`` and runs against the stack
(typed errors, wait with progress, pagination, downloads, exports, another key)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PATHS = os.pathsep.join(str(REPO / "clients" / d) for d in ("sdk", "python"))


def test_sdk_and_a_user_script_pass_mypy_strict() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(HERE / "mypy-strict.ini")]
        + [str(REPO / "clients" / "sdk" / "icl_it_sdk"), str(HERE / "sdk_workflow.py")],
        env={**os.environ, "MYPYPATH": PATHS},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.services
def test_sdk_workflow_against_the_stack(
    surface_stack: Any, other_key: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    # no $ICL_IT_API_KEY: the SDK finds the stack's local key in $ICL_IT_HOME/api_key
    env = {k: v for k, v in os.environ.items() if k != "ICL_IT_API_KEY"}
    env.update(PYTHONPATH=PATHS, ICL_IT_HOME=surface_stack.env["ICL_IT_HOME"])
    proc = subprocess.run(
        [sys.executable, str(HERE / "sdk_workflow.py")]
        + [surface_stack.url, str(tiny_model_dir), str(tmp_path), other_key],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sdk workflow ok" in proc.stdout


def test_problem_documents_become_typed_exceptions() -> None:
    sys.path[:0] = PATHS.split(os.pathsep)
    from icl_it_sdk import Conflict, ServerError, Unavailable, ValidationFailed
    from icl_it_sdk.errors import error_for

    body = (
        b'{"type": "x", "title": "Request validation failed", "status": 422, '
        b'"detail": "d", "errors": [{"loc": ["body", "demos", "k"], "msg": "m", "type": "t"}]}'
    )
    exc = error_for(422, "Unprocessable", body)
    assert isinstance(exc, ValidationFailed) and exc.errors[0].path == "demos.k"
    assert isinstance(error_for(409, "Conflict", b"{}"), Conflict)
    assert isinstance(error_for(503, "Unavailable", b""), Unavailable)
    plain = error_for(502, "Bad Gateway", b"upstream down")
    assert isinstance(plain, ServerError) and plain.detail == "upstream down"

"""Helpers for the client tests: run openapi-python-client as a user of the API would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _generate_client(
    out: Path, *, path: Path | None = None, url: str | None = None, package: str | None = None
) -> Path:
    """Run the generator (as `make client` does) into ``out``; returns ``out``.

    ``package`` renames the generated package through the generator's own config file,
    so a fresh client can be imported next to the committed ``icl_it_client``.
    """
    exe = Path(sys.executable).with_name("openapi-python-client")
    if not exe.exists():
        pytest.skip("openapi-python-client is not installed (make install)")
    argv = [str(exe), "generate", "--output-path", str(out), "--meta", "setup"]
    argv += ["--custom-template-path", str(REPO_ROOT / "clients" / "templates")]
    argv += ["--path", str(path)] if path is not None else ["--url", str(url)]
    if package is not None:
        config = out.parent / f"{package}-config.yaml"
        config.write_text(f"package_name_override: {package}\n")
        argv += ["--config", str(config)]
    # Its post-hooks call ruff: use the project's pinned one, like `make client`.
    env = dict(os.environ, PATH=f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def generate_client() -> Callable[..., tuple[Path, str]]:
    return _generate_client

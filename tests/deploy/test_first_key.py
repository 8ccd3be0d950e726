"""docs/DEPLOY.md's first-key commands (issue 20): each names a service or a Deployment
that exists, runs the API image with the API's own database settings, and the command it
runs inside that image creates a key the API accepts, without the ML stack or the client
packages (neither is in the API image). No Docker engine or cluster runs here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.test_k8s import render

REPO = Path(__file__).resolve().parents[2]
DEPLOY_DOC = (REPO / "docs" / "DEPLOY.md").read_text()
IN_IMAGE = ["python", "-m", "services.cli", "keys", "create"]
# What the API image lacks: torch and the ML stack (requirements-filter.sh slim) and the
# client packages (the image copies services/ only).
ABSENT = ["torch", "transformers", "peft", "icl_it_client", "icl_it_sdk"]


def documented(prefix: str) -> list[str]:
    """The one command line of DEPLOY.md that starts with ``prefix``, split like a shell."""
    (line,) = [ln for ln in DEPLOY_DOC.splitlines() if ln.startswith(prefix)]
    return shlex.split(line)


def test_the_compose_command_runs_the_cli_in_the_api_service():
    argv = documented("docker compose run")
    assert argv[:4] == ["docker", "compose", "run", "--rm"]
    service, command = argv[4], argv[5:]
    compose: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    api = compose["services"][service]
    assert api["build"]["dockerfile"] == "deploy/api.Dockerfile"
    assert (
        api["environment"]["DATABASE_URL"]
        == compose["services"]["migrate"]["environment"]["DATABASE_URL"]
    )  # the database the API and its migrations use
    assert command[: len(IN_IMAGE)] == IN_IMAGE and "--name" in command


def test_the_kubectl_command_execs_in_the_api_deployment():
    argv = documented("kubectl -n icl-it exec")
    target, command = argv[4], argv[argv.index("--") + 1 :]
    kind, name = target.split("/")
    assert kind == "deploy"
    (deployment,) = [
        d for d in render("base") if d["kind"] == "Deployment" and d["metadata"]["name"] == name
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("icl-it/api")
    sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert sources == {"icl-it-config", "icl-it-secrets"}  # DATABASE_URL is in the Secret
    assert command[: len(IN_IMAGE)] == IN_IMAGE and "--name" in command


@pytest.mark.services
def test_the_in_image_command_creates_a_key_the_api_accepts(postgres_url: str, tmp_path: Path):
    from services.common import db
    from services.common.db import keys

    command = documented("docker compose run")[5:]
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in ABSENT)
    code = (
        f"import runpy, sys; {blocked}; sys.argv = {['icl-it', *command[3:]]!r}; "
        "runpy.run_module('services.cli', run_name='__main__')"
    )
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "ICL_IT_HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\S{20,}", key), out.stdout
    with db.session_scope(postgres_url) as s:
        row = keys.find_active(s, key)
        assert row is not None and row.admin and row.name == "alice"

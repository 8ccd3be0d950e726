"""docker-compose.yml: valid against the compose spec, the services the issue lists,
and every setting it uses documented in .env.example.

The compose-spec JSON schema is vendored (deploy/schemas/compose-spec.json, from
github.com/compose-spec/compose-spec schema/compose-spec.json) so the check runs offline.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.runtime.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SCHEMA = REPO / "deploy" / "schemas" / "compose-spec.json"
ENV_EXAMPLE = REPO / ".env.example"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # merges the <<: anchors as compose does


def env_example_names() -> set[str]:
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))


def test_compose_file_is_valid_against_the_compose_spec():
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--schemafile", str(SCHEMA), str(COMPOSE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schema_check_catches_a_broken_file(tmp_path: Path):
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  api:\n    image: x\n    restart: sometimes\n    portz: [1]\n")
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--schemafile", str(SCHEMA), str(broken)], capture_output=True, text=True
    )
    assert result.returncode == 1 and "portz" in result.stdout


def test_services(compose: dict[str, Any]):
    services = compose["services"]
    assert set(services) == {
        "postgres", "redis", "migrate", "api", "gpu-worker", "gpu-worker-cpu",
        "analysis-worker", "flower", "models", "prometheus", "grafana",
    }  # fmt: skip
    # Redis with an append-only file on a volume; Postgres on a volume
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    # migrations run once, before the API and the workers
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "gpu-worker", "gpu-worker-cpu", "analysis-worker"):
        dep = services[name]["depends_on"]["migrate"]
        assert dep == {"condition": "service_completed_successfully"}, name
    # the GPU worker reserves an NVIDIA GPU; its CPU variant is a profile, without one
    (device,) = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "profiles" not in services["gpu-worker"]
    cpu = services["gpu-worker-cpu"]
    assert cpu["profiles"] == ["cpu"] and "deploy" not in cpu
    assert cpu["environment"]["ICL_IT_DEVICE"] == "cpu"
    assert cpu["image"] == services["gpu-worker"]["image"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    assert services["models"]["profiles"] == ["tools"]
    assert "HF_TOKEN" in services["models"]["environment"]


def test_workers_shut_down_within_their_grace_period(compose: dict[str, Any]):
    for name in ("gpu-worker", "analysis-worker"):
        svc = compose["services"][name]
        env = svc["environment"]
        assert env["REMAP_SIGTERM"] == "SIGQUIT"
        soft = int(re.sub(r"\$\{\w+:-(\d+)\}", r"\1", str(env["ICL_IT_SOFT_SHUTDOWN"])))
        grace = int(svc["stop_grace_period"].rstrip("s"))
        assert grace >= soft + 30, name


def test_images_and_mounted_files_exist(compose: dict[str, Any]):
    for name, svc in compose["services"].items():
        if "build" in svc:
            assert (REPO / svc["build"]["dockerfile"]).exists(), name
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source}"


def test_every_setting_is_documented_in_env_example(compose: dict[str, Any]):
    documented = env_example_names()
    aliases = {f.validation_alias for f in Settings.model_fields.values()}
    assert aliases - documented == set(), "Settings fields missing from .env.example"
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    assert used - documented == set(), "compose variables missing from .env.example"


def test_env_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch):
    """The uncommented lines of .env.example load into Settings as they stand."""
    for name in ("ICL_IT_HUB_MODELS", "ICL_IT_HUB_DATASETS"):  # a local stack's defaults
        monkeypatch.delenv(name, raising=False)
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.artifacts == "/artifacts" and settings.soft_shutdown_s == 120
    assert settings.log_format == "json" and settings.hub_models == ""  # the safe default


def test_every_published_port_is_on_loopback_by_default(compose: dict[str, Any]):
    """The API too (it was published on all interfaces): reaching it from elsewhere is a
    choice (ICL_IT_BIND), and the metrics listener (9808) is not published at all."""
    published = {
        name: port for name, svc in compose["services"].items() for port in svc.get("ports", [])
    }
    assert "api" in published
    for name, port in published.items():
        expanded = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(port))
        assert expanded.startswith("127.0.0.1:"), (name, port)
        assert not expanded.endswith(":9808"), (name, port)

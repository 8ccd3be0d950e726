"""A Hub model as people have it (issue 20): named ``ORG/NAME`` on a single-user stack and
loaded through transformers' own ``from_pretrained`` from a Hub cache laid out exactly as
``huggingface_hub`` lays it out, offline (HF_HUB_OFFLINE=1, HF_HUB_CACHE pointing at it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

from services.common.storage.hub_cache import cached_snapshot
from tests.fixtures.helpers import tiny_spec
from tests.fixtures.hub_cache import lay_out_hub_cache

REPO = Path(__file__).resolve().parents[2]
REPO_ID = "tiny-org/tiny-llama"


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    cache = tmp_path_factory.mktemp("hf") / "hub"
    lay_out_hub_cache(cache, REPO_ID, tiny_model_dir)
    return cache


def offline_env(home: Path, cache: Path) -> dict[str, str]:
    """No ICL_IT_HUB_MODELS: the single-user default applies; no network for the Hub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICL_IT_", "HF_"))}
    env.update(
        ICL_IT_HOME=str(home),
        ICL_IT_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        HF_HUB_CACHE=str(cache),
        HF_ENDPOINT="http://127.0.0.1:9",  # a closed port: any request would fail
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
    )
    return env


def icl_it(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


def test_the_cache_is_found_complete_at_main(hub_cache: Path, tmp_path: Path) -> None:
    snapshot = cached_snapshot(REPO_ID, cache_dir=hub_cache)
    assert snapshot is not None and (snapshot / "config.json").is_symlink()
    refs = hub_cache / f"models--{REPO_ID.replace('/', '--')}" / "refs"
    assert snapshot.name == (refs / "main").read_text()
    assert cached_snapshot("tiny-org/other", cache_dir=hub_cache) is None
    # config without weights is not a model the worker can load
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text("{}")
    lay_out_hub_cache(tmp_path / "hub", "a/b", partial)
    assert cached_snapshot("a/b", cache_dir=tmp_path / "hub") is None


def test_models_pull_uses_what_the_cache_holds(hub_cache: Path, tmp_path: Path) -> None:
    out = icl_it("models", "pull", REPO_ID, env=offline_env(tmp_path, hub_cache))
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == cached_snapshot(REPO_ID, cache_dir=hub_cache)
    listed = icl_it("models", env=offline_env(tmp_path, hub_cache))
    assert listed.returncode == 0 and REPO_ID in listed.stdout and "llama-2-7b" in listed.stdout
    assert f"--set model.name={REPO_ID}" in out.stderr
    missing = icl_it("models", "pull", "tiny-org/absent", env=offline_env(tmp_path, hub_cache))
    assert missing.returncode == 1 and "could not download tiny-org/absent" in missing.stderr


@pytest.mark.parametrize("offline", ["1", None], ids=["HF_HUB_OFFLINE=1", "online"])
def test_a_spec_naming_a_hub_id_runs_from_the_cache(
    hub_cache: Path, tmp_path: Path, offline: str | None
) -> None:
    """Offline, and online too: a cached model is loaded without asking the Hub (whose
    endpoint here is a closed port: a request would be retried and logged)."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tiny_spec(Path(REPO_ID), inference={"n": 2})))
    out = tmp_path / "out"
    env = offline_env(tmp_path / "home", hub_cache)
    if offline is None:
        del env["HF_HUB_OFFLINE"]
    proc = icl_it("run", str(spec), "--out", str(out), "--quiet", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "127.0.0.1:9" not in proc.stderr, proc.stderr[-3000:]
    (states,) = out.glob("runs/*/states.safetensors")
    with safe_open(str(states), "np") as f:
        model = json.loads(f.metadata()["meta"])["model"]  # the run's record of its model
    assert model["name"] == REPO_ID and model["source"] == "hub" and model["n_layers"] == 4
    if offline is None:
        return
    # the same id on a shared server (the allow-list default) is refused by the worker
    closed = {**env, "ICL_IT_HUB_MODELS": ""}
    proc = icl_it("run", str(spec), "--out", str(tmp_path / "closed"), "--quiet", env=closed)
    assert proc.returncode != 0 and "ICL_IT_HUB_MODELS" in proc.stderr


def test_the_hub_commands_keep_the_users_hf_hub_offline(monkeypatch) -> None:
    """``up``, ``run`` and ``models`` leave HF_HUB_OFFLINE as the user set it (a cached
    model loads either way); other commands default it to 1."""
    from services.cli.main import main
    from services.local.stack import hub_policy_line

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert main(["models"]) == 0 and "HF_HUB_OFFLINE" not in os.environ
    assert main(["tasks"]) == 0 and os.environ["HF_HUB_OFFLINE"] == "1"
    line = hub_policy_line({"ICL_IT_HUB_MODELS": "*/*"})
    assert "matching */*" in line and "downloads what is not cached" in line
    assert "offline" in hub_policy_line({"HF_HUB_OFFLINE": "1"})


def test_set_data_hf_replaces_the_spec_files_task(tmp_path: Path) -> None:
    from services.cli.specs import load_spec

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("data:\n  task: sentiment\n")
    spec = load_spec(str(spec_file), None, None, ["data.hf=stanfordnlp/imdb"])
    assert spec.data.task == "hf" and spec.data.hf == "stanfordnlp/imdb"
    with pytest.raises(ValueError, match="not both"):
        load_spec(str(spec_file), None, None, ["data.hf=x/y", "data.task=topic"])

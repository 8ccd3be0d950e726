"""What a worker agrees to load: the Hub policy and the size checks, before any weight."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from services.common.runtime.settings import Settings
from services.common.spec import ModelSpec
from services.gpu_worker.models import (
    ModelLoadError,
    check_model_size,
    count_params,
    load_model,
    resolve_source,
)


def test_count_params_matches_the_loaded_model(tiny_dir) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    expected = sum(p.numel() for p in model.parameters())
    assert count_params(AutoConfig.from_pretrained(tiny_dir)) == expected


def test_hub_policy_applies_in_the_worker_too(tmp_path) -> None:
    closed = Settings(ICL_IT_HOME=tmp_path, ICL_IT_HUB_MODELS="")
    with pytest.raises(ModelLoadError, match="ICL_IT_HUB_MODELS"):
        resolve_source(ModelSpec(name="someone/model"), closed)
    # catalog names resolve whatever the policy
    assert resolve_source(ModelSpec(name="llama-2-7b"), closed) == (
        "hub",
        "meta-llama/Llama-2-7b-hf",
    )
    open_ = Settings(ICL_IT_HOME=tmp_path, ICL_IT_HUB_MODELS="someone/*")
    assert resolve_source(ModelSpec(name="someone/model"), open_) == ("hub", "someone/model")


def test_a_hub_pattern_star_does_not_reach_a_relative_directory(tmp_path, monkeypatch) -> None:
    # issue 19: with 'HuggingFaceTB/*', '*' crossed '/', and a multi-segment name that
    # existed as a relative path on the worker was loaded as a local directory
    (tmp_path / "HuggingFaceTB" / "a" / "b").mkdir(parents=True)
    (tmp_path / "HuggingFaceTB" / "SmolLM2").mkdir()
    monkeypatch.chdir(tmp_path)
    policy = Settings(ICL_IT_HOME=tmp_path / "home", ICL_IT_HUB_MODELS="HuggingFaceTB/*")
    with pytest.raises(ModelLoadError, match="ICL_IT_HUB_MODELS"):
        resolve_source(ModelSpec(name="HuggingFaceTB/a/b"), policy)
    with pytest.raises(ModelLoadError, match="relative to this worker"):
        resolve_source(ModelSpec(name="HuggingFaceTB/SmolLM2"), policy)
    assert resolve_source(ModelSpec(name="HuggingFaceTB/Other"), policy) == (
        "hub",
        "HuggingFaceTB/Other",
    )


def test_a_model_over_the_parameter_cap_is_refused_before_loading(tiny_dir) -> None:
    capped = Settings(ICL_IT_MODEL_DIRS=str(tiny_dir.parent), ICL_IT_MAX_MODEL_PARAMS=1000)
    with pytest.raises(ModelLoadError, match="ICL_IT_MAX_MODEL_PARAMS"):
        load_model(ModelSpec(name=str(tiny_dir)), device=torch.device("cpu"), settings=capped)
    roomy = Settings(ICL_IT_MODEL_DIRS=str(tiny_dir.parent), ICL_IT_MAX_MODEL_PARAMS=1e9)
    loaded = load_model(ModelSpec(name=str(tiny_dir)), device=torch.device("cpu"), settings=roomy)
    assert loaded.n_layers == 4


def test_weights_that_cannot_fit_in_free_memory_are_refused() -> None:
    huge = 200_000_000_000  # 372 GiB in bf16: more than any machine here has free
    with pytest.raises(ModelLoadError, match="GiB is free"):
        check_model_size("big", huge, torch.bfloat16, torch.device("cpu"), Settings())
    check_model_size("small", 1_000_000, torch.float32, torch.device("cpu"), Settings())

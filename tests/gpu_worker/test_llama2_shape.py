"""Slow: LLaMA-2-7B shapes (a handful of layers), tokenizer conventions and chat template."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, expand_runs
from tests.gpu_worker.llama2_shape import save_llama2_shaped

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama2_engine(tmp_path_factory):
    from services.gpu_worker.engine import Engine

    root = tmp_path_factory.mktemp("llama2")
    path = save_llama2_shaped(root / "llama-2-7b-shape", n_layers=2)
    engine = Engine(settings=Settings(ICL_IT_MODEL_DIRS=str(root)), device=torch.device("cpu"))
    return engine, path


@pytest.mark.parametrize("kind", ["plain", "chat"])
def test_llama2_shapes_and_conventions(llama2_engine, kind: str) -> None:
    engine, path = llama2_engine
    spec = ExperimentSpec(
        model={"name": str(path)},
        inference={"n": 2, "seed": 0},
        demos={"k": 2},
        template={"kind": kind},
        lora={"epochs": 1},
        controls=["untuned_adapter"],
    )
    out = engine.execute(expand_runs(spec)[0])
    st = out.states
    # examples, conditions, embeddings + 2 blocks + final norm
    assert st.hidden.shape == (2, 4, 4, 4096)
    assert np.isfinite(st.hidden).all()
    tok = engine.warm(expand_runs(spec)[0]).loaded.tokenizer
    assert tok.pad_token_id == tok.eos_token_id == 2  # LLaMA-2 has no pad token
    for p in out.prompts:
        anchor, icl = p["conditions"]["anchor"]["token_ids"], p["conditions"]["icl"]["token_ids"]
        assert anchor[0] == 1 and icl[0] == 1  # BOS in front, exactly as LLaMA-2 expects
        if kind == "plain":
            assert icl.count(1) == 1
            assert icl[-(len(anchor) - 1) :] == anchor[1:]  # same query tokens after BOS
        else:
            assert icl.count(1) == 3  # one <s>[INST] per turn: 2 demos + the query
            assert icl[-len(anchor) :] == anchor
            assert p["conditions"]["icl"]["text"].startswith("<s>[INST]")
            assert p["conditions"]["icl"]["text"].rstrip().endswith("[/INST]")
            assert icl.count(2) == 2  # each demonstration's answer ends with </s>
    assert out.tuning[0]["steps"] == 1

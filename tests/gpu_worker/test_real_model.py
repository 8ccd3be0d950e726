"""Slow: the embedded SmolLM2-135M, checked against an independent GGUF load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from services.common.spec import ExperimentSpec, expand_runs
from tests.gpu_worker.reference import independent_states

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol_engine():
    from services.gpu_worker.engine import Engine

    return Engine(device=torch.device("cpu"))


def test_cached_weights_and_stored_states_match_plain_transformers_on_the_gguf(smol_engine):
    from transformers import AutoModelForCausalLM

    from services.gpu_worker.models import EMBEDDED_GGUF, embedded_gguf_dir

    spec = ExperimentSpec(
        inference={"n": 2, "seed": 3}, demos={"k": 2}, lora={"epochs": 1}, controls=[]
    )
    out = smol_engine.execute(expand_runs(spec)[0])
    # independent: transformers' own GGUF loader, batch 1, no padding, no engine code
    ref_model = AutoModelForCausalLM.from_pretrained(
        embedded_gguf_dir(), gguf_file=EMBEDDED_GGUF, dtype=torch.float32
    ).eval()
    for i, prompt in enumerate(out.prompts):
        for cond in ("anchor", "icl"):
            ids = prompt["conditions"][cond]["token_ids"]
            ref, _ = independent_states(ref_model, ids)  # embeddings, 30 blocks, final norm
            got = out.states.hidden[i, out.states.conditions.index(cond)]
            rel = np.linalg.norm(got - ref, axis=-1) / np.linalg.norm(ref, axis=-1)
            assert rel.shape == (32,)
            assert rel.max() < 1e-4, (cond, rel.max())
    assert out.states.hidden.shape[2:] == (32, 576)

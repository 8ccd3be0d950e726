"""The settings a GPU cluster uses for the paper scale (checked without a GPU)."""

from __future__ import annotations

import pytest
import torch

from services.common.spec import ModelSpec
from services.common.spec.catalog import KNOWN_MODELS
from services.gpu_worker.models import batch_size_for_memory, pick_dtype

GIB = 1024**3
LLAMA2_7B = {"n_layers": 32, "d_model": 4096, "intermediate": 11008, "n_heads": 32}
LLAMA2_13B = {"n_layers": 40, "d_model": 5120, "intermediate": 13824, "n_heads": 40}


def test_bf16_on_cuda_fp32_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto: bf16 on a CUDA device with bf16 units (faked here: CI has no GPU), fp32 on CPUs."""
    from services.gpu_worker import precision

    monkeypatch.setattr(
        precision, "bf16_units", lambda device: ["cuda"] if device.type == "cuda" else []
    )
    spec = ModelSpec(name="llama-2-7b")
    assert pick_dtype(spec, torch.device("cuda")) == torch.bfloat16
    assert pick_dtype(spec, torch.device("cpu")) == torch.float32
    assert pick_dtype(ModelSpec(dtype="float16"), torch.device("cuda")) == torch.float16


def test_llama2_names_resolve_to_hub_ids() -> None:
    assert KNOWN_MODELS["llama-2-7b"].hf_id == "meta-llama/Llama-2-7b-hf"
    assert KNOWN_MODELS["llama-2-13b-chat"].hf_id == "meta-llama/Llama-2-13b-chat-hf"


def test_batch_size_grows_with_free_memory_and_shrinks_with_length() -> None:
    # H200 with a 7B bf16 model loaded (~13.5 GB): ~125 GiB free
    h200 = batch_size_for_memory(125 * GIB, max_tokens=512, dtype_bytes=2, **LLAMA2_7B)
    small = batch_size_for_memory(8 * GIB, max_tokens=512, dtype_bytes=2, **LLAMA2_7B)
    long = batch_size_for_memory(125 * GIB, max_tokens=4096, dtype_bytes=2, **LLAMA2_7B)
    big = batch_size_for_memory(125 * GIB, max_tokens=512, dtype_bytes=2, **LLAMA2_13B)
    assert h200 == 64  # capped
    assert 1 <= small < h200 and 1 <= long < h200 and big <= h200
    # the estimate itself: one 512-token sequence of 7B in bf16 is ~0.16 GiB
    one = batch_size_for_memory(2 * 0.16 * GIB, max_tokens=512, dtype_bytes=2, **LLAMA2_7B)
    assert one in (1, 2)
    assert batch_size_for_memory(0, max_tokens=10, dtype_bytes=2, **LLAMA2_7B) == 1

"""The harness on a random-init model of LLaMA-2-7B's shape, bf16 on CUDA, in one call.

bf16 is the engine's mixed precision (``gpu_worker.precision``): decoder Linear weights
stored in bf16 and matmuls under autocast; embeddings, norms, LoRA and the loss in fp32.
The baseline gets the same precision, so the ratio is the engine's levers alone.

    python -m bench.gpu_llama7b                       # H200 class: 7B shape, bf16
    python -m bench.gpu_llama7b --device cpu --dtype float32 --layers 2 --hidden 64 \\
        --heads 4 --inter 128 --quick --no-notes      # the same code path, on a CPU

Nothing can be downloaded on the GPU machines, so the model is built from its config with
random weights (seeded), twice: one copy for the engine, one for the baseline (peft wraps
its model in place). The tokenizer is the embedded SmolLM2 one with ids folded into the
32000-token vocabulary (``id % vocab``); the numbers mean nothing as science, but shapes,
FLOPs and the agreement of the two paths are what is measured. Builds, checks (baseline vs
engine similarities) and times every variant in one process; figures go to
bench/results/ and one line to bench/NOTES.md, like ``python -m bench.harness``.
"""

from __future__ import annotations

import argparse
from typing import Any, cast

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from bench.harness import RssSampler, run_and_report
from bench.workload import add_common_args, load_runs, start
from services.common.runtime.settings import get_settings
from services.gpu_worker.engine import Engine
from services.gpu_worker.models import LoadedModel, embedded_model_dir
from services.gpu_worker.precision import resolve_precision, store_weights

MODEL_NAME = "llama-2-7b-shape-random"


class _Encoding:
    def __init__(self, input_ids: list[int]):
        self.input_ids = input_ids


class FoldedTokenizer:
    """A tokenizer whose ids are folded into ``vocab`` (id % vocab); everything else is
    the wrapped tokenizer's. Decoded text is approximate (for display only)."""

    def __init__(self, tokenizer: Any, vocab: int):
        self._tok = tokenizer
        self._vocab = vocab

    def __call__(self, text: str, **kwargs: Any) -> _Encoding:
        return _Encoding([i % self._vocab for i in self._tok(text, **kwargs).input_ids])

    def decode(self, ids: Any, **kwargs: Any) -> str:
        return str(self._tok.decode(list(ids), **kwargs))

    @property
    def pad_token_id(self) -> int:
        pad = self._tok.pad_token_id
        return int(pad if pad is not None else self._tok.eos_token_id) % self._vocab

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tok, name)


def build_model(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> Any:
    config = LlamaConfig(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        intermediate_size=args.inter,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads or args.heads,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, dtype=dtype)
    model.eval()
    model.requires_grad_(False)
    return model


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gpu_llama7b", description=__doc__)
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=None)
    p.add_argument("--inter", type=int, default=11008)
    p.add_argument("--vocab", type=int, default=32000)
    add_common_args(p)
    args = p.parse_args(argv)
    if args.device is None:
        args.device = "cuda"
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = start("bench.gpu_llama7b", argv)
    device = torch.device(args.device)
    precision = resolve_precision(args.dtype, device)
    # built in the compute dtype (a 7B model never exists in fp32), then the embeddings and
    # norms are brought up to fp32
    dtype = precision.compute if device.type == "cuda" else torch.float32
    settings = get_settings()
    spec, runs = load_runs(args.spec, MODEL_NAME, args.examples, args.quick)
    tokenizer = FoldedTokenizer(
        AutoTokenizer.from_pretrained(embedded_model_dir(settings)), args.vocab
    )

    def loaded() -> LoadedModel:
        model = build_model(args, device, dtype)
        store_weights(model, precision)
        # duck-typed: FoldedTokenizer forwards all it does not fold to a real tokenizer
        tok = cast(PreTrainedTokenizerBase, tokenizer)
        return LoadedModel(
            model, tok, MODEL_NAME, "random", device, precision.compute, True, precision
        )

    with RssSampler() as sampler:
        engine = Engine(settings=settings, device=device)
        engine.keep_warm(runs[0], loaded())
        return run_and_report(args, command.strip(), spec, runs, engine, loaded, sampler)


if __name__ == "__main__":
    main()

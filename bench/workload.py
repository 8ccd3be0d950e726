"""What a bench run measures: the spec's runs on the chosen model (the embedded SmolLM2,
a tiny random-init Llama, or a path), and the command line every bench shares."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from bench.report import (
    RESULTS_DIR,
)
from bench.variants import VARIANTS
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, RunConfig, expand_runs
from services.gpu_worker.models import save_tiny_llama

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_SPEC = BENCH_DIR / "sweep.yaml"
TINY = "tiny"


def load_runs(
    spec_path: Path, model: str | None, examples: int | None, quick: bool
) -> tuple[ExperimentSpec, list[RunConfig]]:
    body = yaml.safe_load(spec_path.read_text())
    if model:
        body.setdefault("model", {})["name"] = model
    if examples:
        body.setdefault("inference", {})["n"] = examples
    if quick:
        body.setdefault("inference", {})["n"] = examples or 4
        body.setdefault("lora", {})["epochs"] = 2
    spec = ExperimentSpec.model_validate(body)
    return spec, expand_runs(spec)


def tiny_model_dir(settings: Settings) -> Path:
    root = settings.model_cache_dir / "bench"
    root.mkdir(parents=True, exist_ok=True)
    return save_tiny_llama(root / "tiny-llama", seed=0)


def bench_model(name: str | None, settings: Settings) -> tuple[str | None, str | None]:
    """(model name for the spec, ICL_IT_MODEL_DIRS it needs): ``tiny`` becomes the
    directory of the tiny random-init Llama; other names pass through."""
    if name != TINY:
        return name, None
    path = tiny_model_dir(settings)
    return str(path), str(path.parent)


def start(prog: str, argv: list[str] | None) -> str:
    """Offline defaults for a benchmark process; returns its command line (for the notes)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return f"python -m {prog} " + " ".join(argv if argv is not None else sys.argv[1:])


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    p.add_argument("--examples", type=int, default=None, help="inference examples per run")
    p.add_argument("--quick", action="store_true", help="4 examples, 2 epochs")
    p.add_argument("--skip-baseline", action="store_true", help="engine only (growth studies)")
    p.add_argument("--device", default=None)
    p.add_argument("--label", default="", help="what changed (goes into NOTES.md)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--no-notes", action="store_true", help="do not append to NOTES.md")
    p.add_argument("--peak-seconds", type=float, default=0.5, help="time per matmul-peak shape")
    p.add_argument(
        "--variants",
        default="",
        help=f"comma-separated engine variants with levers off, timed alongside: {sorted(VARIANTS)}",
    )

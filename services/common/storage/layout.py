"""Where every file lives: the one owner of file names, storage keys and media types.

An experiment's files, in the artifact store (services) or under ``--out`` (in-process):

    experiments/<experiment id>/            out/
        results.json                            results.json      the results document
        report.html                             report.html       self-contained report
        figures/<name>.png                      figures/<name>.png
        runs/<run id>/                          runs/<run key>/
            states.safetensors                      states.safetensors   hidden states
            prompts.json                            prompts.json         prompts, tuning
            analysis.json                           analysis.json        per-run similarities
            tuning.json                             tuning.json          per-step LoRA losses
            adapters/<n>/adapter_config.json        adapters/<n>/...     adapter n, as peft's
            adapters/<n>/adapter_model.safetensors                       save_pretrained lays it out
                                                    run.json             the run's record
                                                spec.json          the resolved spec
    datasets/<dataset id>.jsonl             (uploads)

The services keep a run's record (its stage timings, checksums, keys) in its database
row; the in-process runner, which has no database, keeps the same record in ``run.json``.
Timings travel one way: from the GPU step onto that record, and from there into the
run's analysis and the results.

Keys are built here and nowhere else (``tests/test_architecture.py`` checks), from ids
and these names only, never from user text; ``artifacts.artifact_key`` validates each
part.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from services.common.storage.artifacts import artifact_key

# A run's files
STATES_FILE = "states.safetensors"
PROMPTS_FILE = "prompts.json"
ANALYSIS_FILE = "analysis.json"
TUNING_FILE = "tuning.json"  # per-step LoRA loss of every adapter, the step rate
RUN_RECORD_FILE = "run.json"  # in-process runs only (the services keep a row)
RUN_FILES = (STATES_FILE, PROMPTS_FILE, TUNING_FILE)  # what the GPU step always writes
ADAPTERS_DIR = "adapters"  # adapters/<n>/: adapter n in peft's save_pretrained layout
ADAPTER_CONFIG_FILE = "adapter_config.json"
ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"

# An experiment's files
RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"
FIGURES_DIR = "figures"
SPEC_FILE = "spec.json"  # in-process runs only (the services keep the spec in its row)

_EXPERIMENTS, _RUNS, _DATASETS = "experiments", "runs", "datasets"


class ArtifactKind(StrEnum):
    """The kinds of downloadable file the API lists under an experiment."""

    STATES = "states"
    PROMPTS = "prompts"
    ANALYSIS = "analysis"
    RESULTS = "results"
    REPORT = "report"
    FIGURE = "figure"
    TUNING = "tuning"
    ADAPTER_CONFIG = "adapter_config"
    ADAPTER_WEIGHTS = "adapter_weights"


MEDIA_TYPES: dict[ArtifactKind, str] = {
    ArtifactKind.STATES: "application/octet-stream",
    ArtifactKind.PROMPTS: "application/json",
    ArtifactKind.ANALYSIS: "application/json",
    ArtifactKind.RESULTS: "application/json",
    ArtifactKind.REPORT: "text/html; charset=utf-8",
    ArtifactKind.FIGURE: "image/png",
    ArtifactKind.TUNING: "application/json",
    ArtifactKind.ADAPTER_CONFIG: "application/json",
    ArtifactKind.ADAPTER_WEIGHTS: "application/octet-stream",
}
SUFFIXES: dict[ArtifactKind, str] = {
    ArtifactKind.STATES: "safetensors",
    ArtifactKind.PROMPTS: "json",
    ArtifactKind.ANALYSIS: "json",
    ArtifactKind.RESULTS: "json",
    ArtifactKind.REPORT: "html",
    ArtifactKind.FIGURE: "png",
    ArtifactKind.TUNING: "json",
    ArtifactKind.ADAPTER_CONFIG: "json",
    ArtifactKind.ADAPTER_WEIGHTS: "safetensors",
}


def run_file_key(experiment_id: str, run_id: str, name: str) -> str:
    """Storage key of one of a run's files (``name``: STATES_FILE, PROMPTS_FILE, ... or a
    run-relative path such as ``adapter_file(0, ADAPTER_CONFIG_FILE)``)."""
    return artifact_key(_EXPERIMENTS, experiment_id, _RUNS, run_id, *name.split("/"))


def adapter_dir(adapter: int) -> str:
    """Run-relative folder of saved adapter ``adapter`` (what ``PeftModel.from_pretrained``
    takes once downloaded): ``adapters/<n>``."""
    return f"{ADAPTERS_DIR}/{int(adapter)}"


def adapter_file(adapter: int, name: str) -> str:
    """Run-relative path of one file of a saved adapter (ADAPTER_CONFIG_FILE or
    ADAPTER_WEIGHTS_FILE)."""
    if name not in (ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE):
        raise ValueError(f"not an adapter file: {name!r}")
    return f"{adapter_dir(adapter)}/{name}"


def runs_prefix(experiment_id: str) -> str:
    """The folder key under which every run of an experiment keeps its files."""
    return artifact_key(_EXPERIMENTS, experiment_id, _RUNS)


_ADAPTER_FILE_KINDS = {
    ADAPTER_CONFIG_FILE: (ArtifactKind.ADAPTER_CONFIG, "config"),
    ADAPTER_WEIGHTS_FILE: (ArtifactKind.ADAPTER_WEIGHTS, "weights"),
}


def found_run_file(experiment_id: str, key: str) -> tuple[str, str, ArtifactKind] | None:
    """A run file the API lists by finding it in the store rather than on a row
    (tuning.json, saved adapters): (run id, artifact id, kind) from its storage key, e.g.
    ``run-<id>-tuning``, ``run-<id>-adapter-3-weights``; None for any other key."""
    head = runs_prefix(experiment_id) + "/"
    if not key.startswith(head):
        return None
    run_id, _, relative = key[len(head) :].partition("/")
    if relative == TUNING_FILE:
        return run_id, f"run-{run_id}-tuning", ArtifactKind.TUNING
    parts = relative.split("/")
    if len(parts) == 3 and parts[0] == ADAPTERS_DIR and parts[1].isdigit():
        kind_what = _ADAPTER_FILE_KINDS.get(parts[2])
        if kind_what is not None:
            return run_id, f"run-{run_id}-adapter-{int(parts[1])}-{kind_what[1]}", kind_what[0]
    return None


def experiment_file_key(experiment_id: str, path: str) -> str:
    """Storage key of an experiment-level file, by its relative path (RESULTS_FILE,
    REPORT_FILE or ``figures/<name>.png``)."""
    return artifact_key(_EXPERIMENTS, experiment_id, *path.split("/"))


def experiment_prefix(experiment_id: str) -> str:
    """The folder key holding every file of an experiment and of its runs."""
    return artifact_key(_EXPERIMENTS, experiment_id)


def figures_prefix(experiment_id: str) -> str:
    """The folder key under which an experiment's figures are stored."""
    return artifact_key(_EXPERIMENTS, experiment_id, FIGURES_DIR)


def dataset_key(dataset_id: str) -> str:
    """Storage key of an uploaded dataset: built from its id, never from user text."""
    return artifact_key(_DATASETS, f"{dataset_id}.jsonl")


def figure_file(figure_key: str) -> str:
    """File name of a figure, from its ``figures.figure_key``: 'layers/main/cosine' ->
    'layers-main-cosine.png' (study names and cell ids are file-name safe)."""
    return figure_key.replace("/", "-") + ".png"


def figure_path(figure_key: str) -> str:
    """An experiment-relative path of a figure: ``figures/<file>``."""
    return f"{FIGURES_DIR}/{figure_file(figure_key)}"


def figure_id(key: str) -> str:
    """The API's artifact id of a stored figure, from its storage key."""
    return "figure-" + key.rsplit("/", 1)[-1].removesuffix(".png")


def local_run_dir(out: Path, run_key: str) -> Path:
    """Where the in-process runner keeps one run's files under ``--out``."""
    return out / _RUNS / run_key


def json_bytes(payload: Any) -> bytes:
    """How every JSON file is written: compact, NaN never written (it raises)."""
    return json.dumps(payload, allow_nan=False).encode()

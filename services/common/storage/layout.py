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
RUN_RECORD_FILE = "run.json"  # in-process runs only (the services keep a row)
RUN_FILES = (STATES_FILE, PROMPTS_FILE)  # what the GPU step writes

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


MEDIA_TYPES: dict[ArtifactKind, str] = {
    ArtifactKind.STATES: "application/octet-stream",
    ArtifactKind.PROMPTS: "application/json",
    ArtifactKind.ANALYSIS: "application/json",
    ArtifactKind.RESULTS: "application/json",
    ArtifactKind.REPORT: "text/html; charset=utf-8",
    ArtifactKind.FIGURE: "image/png",
}
SUFFIXES: dict[ArtifactKind, str] = {
    ArtifactKind.STATES: "safetensors",
    ArtifactKind.PROMPTS: "json",
    ArtifactKind.ANALYSIS: "json",
    ArtifactKind.RESULTS: "json",
    ArtifactKind.REPORT: "html",
    ArtifactKind.FIGURE: "png",
}


def run_file_key(experiment_id: str, run_id: str, name: str) -> str:
    """Storage key of one of a run's files (``name``: STATES_FILE, PROMPTS_FILE, ...)."""
    return artifact_key(_EXPERIMENTS, experiment_id, _RUNS, run_id, name)


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

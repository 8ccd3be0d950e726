"""Submit-time checks of what the spec names, against what the service knows.

A spec that pydantic accepts can still name things this service cannot run: a model
outside the allow-list (catalog names, ``ICL_IT_MODEL_DIRS``, ``ICL_IT_HUB_MODELS``), a
task that does not exist, an index past the end of the dataset, a report layer the
model does not have. Each is a 422 naming the field, instead of a 202 and a failed run.
Where a fact is not known here (a Hub model's depth), the worker checks it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from services.api.datasets import repository as datasets_repo
from services.api.errors import Invalid
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, RunConfig
from services.common.spec.catalog import (
    BUILTIN_TASKS,
    EMBEDDED_MODEL,
    is_local_model,
    model_not_allowed,
)
from services.common.spec.sections import HF_TASK
from services.common.storage.hf_datasets import hf_not_allowed

# Decoder blocks of the catalog's models (hidden states: embeddings + one per block).
KNOWN_LAYERS = {
    EMBEDDED_MODEL: 30,
    "llama-2-7b": 32,
    "llama-2-7b-chat": 32,
    "llama-2-13b": 40,
    "llama-2-13b-chat": 40,
}


def _model_loc(spec: ExperimentSpec, name: str) -> list[str | int]:
    if name == spec.model.name:
        return ["body", "model", "name"]
    if name in spec.models:
        return ["body", "models", spec.models.index(name)]
    return ["body", "sweep", "model.name"]


def _local_problem(name: str, settings: Settings) -> str | None:
    path = Path(name).expanduser().resolve()
    allowed = settings.allowed_model_dirs
    if not any(path == d or d in path.parents for d in allowed):
        return f"local model {name!r} is outside the allowed directories (ICL_IT_MODEL_DIRS)"
    if not (path / "config.json").is_file():
        return f"local model {name!r} has no config.json"
    return None


def _layers_of(name: str) -> int | None:
    if name in KNOWN_LAYERS:
        return KNOWN_LAYERS[name]
    if is_local_model(name):
        try:
            config = json.loads((Path(name).expanduser().resolve() / "config.json").read_text())
            return int(config["num_hidden_layers"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def check_models(spec: ExperimentSpec, runs: Sequence[RunConfig], settings: Settings) -> None:
    """Every model a run would load must be on the allow-list; ``report_layer`` must exist
    in every model whose depth is known."""
    for name in dict.fromkeys(run.model.name for run in runs):
        if is_local_model(name):
            problem = _local_problem(name, settings)
        else:
            problem = model_not_allowed(name, settings.hub_models)
        if problem is not None:
            raise Invalid.at(_model_loc(spec, name), problem, "model_not_allowed")
        layers = _layers_of(name)
        if spec.report_layer is not None and layers is not None and spec.report_layer > layers:
            raise Invalid.at(
                ["body", "report_layer"],
                f"model {name!r} has layers 0..{layers} (embeddings + {layers} blocks); "
                f"report_layer={spec.report_layer} does not exist",
                "report_layer_out_of_range",
            )


def check_hf_data(runs: Sequence[RunConfig], settings: Settings) -> None:
    """A Hugging Face dataset (``data.hf``) must be allowed here (ICL_IT_HUB_DATASETS, or a
    directory inside ICL_IT_DATA_DIRS); whether it exists is known when a worker reads it."""
    for run in runs:
        if run.data.hf is None:
            continue
        problem = hf_not_allowed(run.data.hf, settings.hub_datasets, settings.allowed_data_dirs)
        if problem is not None:
            raise Invalid.at(["body", "data", "hf"], problem, "dataset_not_allowed")


@lru_cache(maxsize=8)
def _builtin_rows(task: str) -> int:
    from services.common.storage.datasets import load_builtin

    return len(load_builtin(task).examples)


def check_tasks(session: Session, owner: str, runs: Sequence[RunConfig]) -> None:
    """Tasks exist (builtin, or one of the owner's uploads) and explicit indices are rows
    of the task's dataset."""
    for run in runs:
        for loc, task in (
            (["body", "data", "task"], run.data.task),
            (["body", "demos", "source_task"], run.demos.source_task),
        ):
            if task is None or task == HF_TASK:  # data.hf: check_hf_data; rows read later
                continue
            if task.startswith("upload:"):
                dataset_id = task.split(":", 1)[1]
                row = datasets_repo.get_for_owner(session, owner, dataset_id)
                if row is None:
                    raise Invalid.at(loc, f"no uploaded dataset {dataset_id!r}", "unknown_dataset")
                n_rows = row.n_rows
            elif task in BUILTIN_TASKS:
                n_rows = _builtin_rows(task)
            else:
                raise Invalid.at(
                    loc, f"unknown task {task!r}; builtin: {sorted(BUILTIN_TASKS)}", "unknown_task"
                )
            if loc[1] != "data" or not run.inference.indices:
                continue
            bad = [i for i in run.inference.indices if i >= n_rows]
            if bad:
                raise Invalid.at(
                    ["body", "inference", "indices"],
                    f"index {bad[0]} is past the end of {task!r} ({n_rows} rows)",
                    "index_out_of_range",
                )

"""Submit-time checks of what the spec names, against what the service knows.

A spec that pydantic accepts can still name things this service cannot run: a model
outside the allow-list (catalog names, ``ICL_IT_MODEL_DIRS``, ``ICL_IT_HUB_MODELS``), a
task that does not exist, an index past the end of the dataset, a report layer the
model does not have. Each is a 422 naming the field, instead of a 202 and a failed run,
in the same answer as the spec's own errors (``body.validate_submission``): the checks
read the raw spec too, so they run on a spec pydantic refused. Where a fact is not known
here (a Hub model's depth), the worker checks it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from services.api.datasets import repository as datasets_repo
from services.api.errors import ProblemItem, invalid
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, RunConfig
from services.common.spec.catalog import (
    BUILTIN_TASKS,
    EMBEDDED_MODEL,
    KNOWN_MODELS,
    is_local_model,
    model_not_allowed,
)
from services.common.spec.diagnose import named_values
from services.common.spec.sections import HF_TASK
from services.common.spec.sweep_values import canonical_value, did_you_mean
from services.common.storage.hf_datasets import hf_not_allowed

# Decoder blocks of the catalog's models (hidden states: embeddings + one per block).
KNOWN_LAYERS = {
    EMBEDDED_MODEL: 30,
    "llama-2-7b": 32,
    "llama-2-7b-chat": 32,
    "llama-2-13b": 40,
    "llama-2-13b-chat": 40,
}


def _local_problem(name: str, settings: Settings) -> str | None:
    try:
        path = Path(name).expanduser().resolve()
    except (RuntimeError, OSError, ValueError):  # '~nobody/x': no such home directory
        return f"local model {name!r} is not a path this service can resolve"
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


@lru_cache(maxsize=8)
def _builtin_rows(task: str) -> int:
    from services.common.storage.datasets import load_builtin

    return len(load_builtin(task).examples)


Loc = list[str | int]


def _named(data: Any, spec: ExperimentSpec | None) -> dict[tuple[str, str], Loc]:
    """Each (field, value) a spec names, with the first path that names it: from the raw
    spec (the paths the user wrote), then from the validated one (a preset's studies)."""
    found: dict[tuple[str, str], Loc] = {}
    sources = [data] + ([spec.model_dump(mode="json")] if spec is not None else [])
    for source in sources:
        for loc, field, value in named_values(source):
            if isinstance(value, str) and value and _field_accepts(field, value):
                found.setdefault((field, value), ["body", *loc])
    return found


def _field_accepts(field: str, value: str) -> bool:
    """Whether the field itself takes the value (no '..', NUL, bad pattern): only such
    values are looked up, whatever else the spec gets wrong; the rest are pydantic's."""
    try:
        canonical_value(field, value, field)
    except ValueError:
        return False
    return True


def _model_problem(name: str, settings: Settings) -> str | None:
    if is_local_model(name):
        return _local_problem(name, settings)
    problem = model_not_allowed(name, settings.hub_models)
    if problem is not None and "/" not in name:
        problem += did_you_mean(name, KNOWN_MODELS)
    return problem


def _task_rows(session: Session, owner: str, task: str) -> int | str:
    """The rows of a task's dataset, or why the spec cannot name it."""
    if task.startswith("upload:"):
        row = datasets_repo.get_for_owner(session, owner, task.split(":", 1)[1])
        return row.n_rows if row is not None else f"no uploaded dataset {task.split(':', 1)[1]!r}"
    if task in BUILTIN_TASKS:
        return _builtin_rows(task)
    return f"unknown task {task!r}{did_you_mean(task, BUILTIN_TASKS)}; builtin: {', '.join(BUILTIN_TASKS)}"


def catalog_problems(
    session: Session, owner: str, data: Any, spec: ExperimentSpec | None, settings: Settings
) -> list[ProblemItem]:
    """Every model and task the spec names that this service cannot run, each once at the
    first path naming it; explicit indices past the end of a task's dataset; a
    ``report_layer`` a model does not have. Works on a spec pydantic refused as well
    (what can be read of it), so that all the errors come in one answer."""
    problems: list[ProblemItem] = []
    report_layer = spec.report_layer if spec is not None else _int(data, "report_layer")
    indices = spec.inference.indices if spec is not None else _indices(data)
    for (field, value), loc in _named(data, spec).items():
        if field == "model.name":
            problem = _model_problem(value, settings)
            if problem is not None:
                problems.append(ProblemItem(loc=loc, msg=problem, type="model_not_allowed"))
                continue
            layers = _layers_of(value)
            if report_layer is not None and layers is not None and report_layer > layers:
                msg = (
                    f"model {value!r} has layers 0..{layers} (embeddings + {layers} blocks); "
                    f"report_layer={report_layer} does not exist"
                )
                problems.append(
                    ProblemItem(
                        loc=["body", "report_layer"], msg=msg, type="report_layer_out_of_range"
                    )
                )
            continue
        if value == HF_TASK:  # data.hf: check_hf_data; its rows are known to the worker
            continue
        rows = _task_rows(session, owner, value)
        if isinstance(rows, str):
            kind = "unknown_dataset" if value.startswith("upload:") else "unknown_task"
            problems.append(ProblemItem(loc=loc, msg=rows, type=kind))
        elif field == "data.task" and indices:
            bad = [i for i in indices if i >= rows]
            if bad:
                msg = f"index {bad[0]} is past the end of {value!r} ({rows} rows)"
                problems.append(
                    ProblemItem(
                        loc=["body", "inference", "indices"], msg=msg, type="index_out_of_range"
                    )
                )
    return problems


def _int(data: Any, key: str) -> int | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _indices(data: Any) -> list[int]:
    inference = data.get("inference") if isinstance(data, dict) else None
    raw = inference.get("indices") if isinstance(inference, dict) else None
    if not isinstance(raw, list):
        return []
    return [i for i in raw if isinstance(i, int) and not isinstance(i, bool)]


def check_hf_data(runs: Sequence[RunConfig], settings: Settings) -> None:
    """A Hugging Face dataset (``data.hf``) must be allowed here (ICL_IT_HUB_DATASETS, or a
    directory inside ICL_IT_DATA_DIRS); whether it exists is known when a worker reads it."""
    for run in runs:
        if run.data.hf is None:
            continue
        problem = hf_not_allowed(run.data.hf, settings.hub_datasets, settings.allowed_data_dirs)
        if problem is not None:
            item = ProblemItem(loc=["body", "data", "hf"], msg=problem, type="dataset_not_allowed")
            raise invalid([item])


def check_catalog(session: Session, owner: str, spec: ExperimentSpec, settings: Settings) -> None:
    """``catalog_problems`` of a valid spec as one 422 (none: return)."""
    problems = catalog_problems(session, owner, spec.model_dump(mode="json"), spec, settings)
    if problems:
        raise invalid(problems)

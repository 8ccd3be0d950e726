"""A spec's ``data.hf``: a Hugging Face dataset read with the ``datasets`` library.

``hf`` is a Hub id (``name`` or ``org/name``), read with ``datasets.load_dataset`` (from
the datasets cache, ``HF_DATASETS_CACHE``, when HF_HUB_OFFLINE=1), or an absolute path to
a directory written by ``Dataset.save_to_disk`` inside ``ICL_IT_DATA_DIRS``, read with
``datasets.load_from_disk``. No dataset script runs: ``datasets`` 4 and later load data
files only. The rows go through the column mapping and limits of an upload
(``dataset_formats.map_records``); a ``ClassLabel`` column brings its own label words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.runtime.settings import Settings
from services.common.spec.catalog import TaskInfo, hub_policy_refusal, is_local_model
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.dataset_formats import ColumnMapping, map_records
from services.common.storage.datasets import (
    MAX_ROWS,
    Dataset,
    DatasetError,
    load_task,
    to_dataset,
)

_SPLIT = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[(-?\d*%?):(-?\d*%?)\])?$")


@dataclass(frozen=True)
class HfSource:
    """Where a Hugging Face dataset is and which part of it a spec reads."""

    name: str
    config: str | None
    split: str
    mapping: ColumnMapping

    @property
    def task(self) -> str:
        """The task's name in results and reports: ``hf:NAME[/CONFIG]:SPLIT``."""
        config = f"/{self.config}" if self.config else ""
        return f"hf:{self.name}{config}:{self.split}"


def hf_not_allowed(name: str, hub_patterns: str, data_dirs: list[Path]) -> str | None:
    """Why a spec may not read ``name`` (None: it may): a path outside ICL_IT_DATA_DIRS, or a
    Hub id outside ICL_IT_HUB_DATASETS (patterns as for models)."""
    if is_local_model(name):
        path = Path(name).expanduser().resolve()
        if name.startswith("/") and any(path == d or d in path.parents for d in data_dirs):
            return None
        return (
            f"dataset directory {name!r} is not allowed: name an absolute path inside "
            f"ICL_IT_DATA_DIRS ({', '.join(map(str, data_dirs)) or 'none set'})"
        )
    allowed = hub_policy_refusal(name, hub_patterns)
    if allowed is None:
        return None
    return (
        f"Hugging Face dataset {name!r} is not allowed on this service: it reads {allowed} "
        "(ICL_IT_HUB_DATASETS) and save_to_disk directories under ICL_IT_DATA_DIRS"
    )


def _open(source: HfSource) -> Any:
    """The split as a ``datasets.Dataset`` (DatasetError when it cannot be read)."""
    import datasets

    try:
        if source.name.startswith("/"):
            return _disk_split(datasets.load_from_disk(source.name), source)
        return datasets.load_dataset(source.name, source.config, split=source.split)
    except DatasetError:
        raise
    except Exception as exc:  # missing from the cache offline, no such split or config, ...
        raise DatasetError(
            f"cannot read Hugging Face dataset {source.task}: {type(exc).__name__}: {exc}"
        ) from None


def _disk_split(found: Any, source: HfSource) -> Any:
    """``split`` (``name``, ``name[a:b]``, ``name[:10%]``: load_dataset's syntax) of what
    ``load_from_disk`` returned (a DatasetDict, or one Dataset whatever the name)."""
    match = _SPLIT.match(source.split)
    if match is None:
        raise DatasetError(f"{source.task}: split {source.split!r} is not name or name[a:b]")
    name, start, stop = match.groups()
    if hasattr(found, "keys"):  # a DatasetDict
        if name not in found:
            raise DatasetError(f"{source.name}: no split {name!r} (splits: {', '.join(found)})")
        found = found[name]
    if start is None:
        return found
    n = found.num_rows

    def bound(text: str) -> int | None:
        if not text:
            return None
        return round(n * int(text[:-1]) / 100) if text.endswith("%") else int(text)

    return found.select(range(*slice(bound(start), bound(stop)).indices(n)))


def _class_label_names(table: Any, column: str | None) -> tuple[str, ...]:
    """The label words of a ``ClassLabel`` column (empty for any other feature)."""
    feature = table.features.get(column or "label")
    names = getattr(feature, "names", None)
    return tuple(str(n) for n in names) if names else ()


def load_hf(source: HfSource) -> Dataset:
    """The rows of a Hugging Face dataset split as a task, checked like an upload."""
    table = _open(source)
    if table.num_rows > MAX_ROWS:
        raise DatasetError(
            f"{source.task}: {table.num_rows} rows (max {MAX_ROWS}); take a slice, e.g. "
            f"split: {source.split.split('[')[0]}[:{MAX_ROWS}]"
        )
    mapping = source.mapping
    if not mapping.label_names:
        names = _class_label_names(table, mapping.label_column)
        mapping = ColumnMapping(mapping.text_column, mapping.label_column, names)
    mapping = ColumnMapping(
        mapping.text_column or "text", mapping.label_column or "label", mapping.label_names
    )
    wanted = [str(mapping.text_column), str(mapping.label_column)]
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise DatasetError(
            f"{source.task}: no column {missing[0]!r} (columns: {', '.join(table.column_names)}); "
            "set data.text_column and data.label_column"
        )
    kind, rows = map_records(table.select_columns(wanted), mapping, source.task)
    labels = tuple(sorted({r["label"] for r in rows}))
    info = TaskInfo(
        name=source.task,
        kind=kind,
        file=source.name,
        description=f"Hugging Face dataset {source.task}",
        input_field="Input",
        output_field="Label",
        instruction="",
        labels=labels,
    )
    return to_dataset(info, kind, rows)


def source_of(data: Any) -> HfSource:
    """The ``HfSource`` of a spec's ``data`` section (a ``DataSpec`` with ``hf`` set)."""
    mapping = ColumnMapping(data.text_column, data.label_column, tuple(data.label_names or ()))
    return HfSource(str(data.hf), data.config, data.split, mapping)


def data_key(task: str, data: Any | None) -> str:
    """What identifies a run's dataset: its task name, or every field of its ``data.hf``."""
    return task if data is None or data.hf is None else source_of(data).task + repr(data)


def load_data(task: str, data: Any | None, settings: Settings) -> Dataset:
    """A run's dataset: ``data.hf`` (checked against ICL_IT_HUB_DATASETS and
    ICL_IT_DATA_DIRS here too, as the worker trusts no message), else ``task``."""
    if data is None or data.hf is None:
        return load_task(task, ArtifactStore(settings.artifacts))
    problem = hf_not_allowed(data.hf, settings.hub_datasets, settings.allowed_data_dirs)
    if problem is not None:
        raise DatasetError(problem)
    return load_hf(source_of(data))

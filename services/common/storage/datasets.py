"""Task datasets: the builtin JSONL files, and users' uploads in the same format.

Classification rows are ``{"text": ..., "label": ...}``; translation rows are
``{"source": ..., "target": ...}`` (normalised here to text=source, label=target).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from services.common.spec.catalog import BUILTIN_TASKS, TaskInfo
from services.common.spec.limits import control_char_problem
from services.common.spec.parsing import ParseError, load_json
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.layout import dataset_key

MAX_ROWS = 20_000
MAX_TEXT_CHARS = 2_000
MAX_LABELS = 32


class DatasetError(ValueError):
    """A dataset file that does not follow the documented format (line numbers included)."""


@dataclass(frozen=True)
class Example:
    """One row of a task: its index in the task, the input text and its label."""

    index: int
    text: str
    label: str


@dataclass(frozen=True)
class Dataset:
    """A task's rows with its description (``TaskInfo``): builtin or uploaded."""

    info: TaskInfo
    examples: tuple[Example, ...]

    @property
    def name(self) -> str:
        """The task name specs use (``sentiment``, ``upload:<id>``)."""
        return self.info.name

    @property
    def is_classification(self) -> bool:
        """Whether rows have labels (else source/target pairs)."""
        return self.info.kind == "classification"

    @property
    def labels(self) -> tuple[str, ...]:
        """The label words of a classification task (empty otherwise)."""
        return self.info.labels


def jsonl_objects(raw: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line, read with the bounded JSON parser
    (depth, integer size, finite numbers); DatasetError naming the line."""
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = load_json(line)
        except ParseError as exc:
            raise DatasetError(f"{name}: line {lineno}: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise DatasetError(f"{name}: line {lineno}: expected a JSON object")
        yield lineno, obj


def parse_jsonl(raw: str, *, name: str = "upload") -> tuple[str, list[dict[str, str]]]:
    """Validate a JSONL dataset; returns (kind, rows). Raises DatasetError naming the line."""
    rows: list[dict[str, str]] = []
    kind: str | None = None
    for lineno, obj in jsonl_objects(raw, name):
        keys = set(obj)
        row_kind = (
            "classification"
            if keys == {"text", "label"}
            else "translation"
            if keys == {"source", "target"}
            else None
        )
        if row_kind is None:
            raise DatasetError(
                f"{name}: line {lineno}: keys must be exactly text+label or source+target, "
                f"got {sorted(keys)}"
            )
        if kind is None:
            kind = row_kind
        elif kind != row_kind:
            raise DatasetError(f"{name}: line {lineno}: mixes {kind} and {row_kind} rows")
        for key, value in obj.items():
            problem = text_problem(value)
            if problem:
                raise DatasetError(f"{name}: line {lineno}: {key!r} {problem}")
        rows.append(obj)
        if len(rows) > MAX_ROWS:
            raise DatasetError(f"{name}: more than {MAX_ROWS} rows")
    if kind is None:
        raise DatasetError(f"{name}: needs at least 2 rows")
    check_rows(kind, rows, name)
    return kind, rows


def text_problem(value: object) -> str | None:
    """Why ``value`` cannot be a dataset text or label (None: it can): a non-empty string of
    at most MAX_TEXT_CHARS characters, without the control characters a spec refuses."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value) > MAX_TEXT_CHARS:
        return f"longer than {MAX_TEXT_CHARS} characters"
    problem = control_char_problem(value)  # the rule a submitted spec's text obeys
    return f"has {problem}" if problem else None


def check_rows(kind: str, rows: list[dict[str, str]], name: str) -> None:
    """The limits on a whole dataset: 2..MAX_ROWS rows, 2..MAX_LABELS distinct labels."""
    if len(rows) < 2:
        raise DatasetError(f"{name}: needs at least 2 rows")
    if len(rows) > MAX_ROWS:
        raise DatasetError(f"{name}: {len(rows)} rows (max {MAX_ROWS})")
    if kind == "classification":
        labels = {r["label"] for r in rows}
        if len(labels) > MAX_LABELS:
            raise DatasetError(f"{name}: {len(labels)} distinct labels (max {MAX_LABELS})")
        if len(labels) < 2:
            raise DatasetError(f"{name}: needs at least 2 distinct labels")


def to_dataset(info: TaskInfo, kind: str, rows: list[dict[str, str]]) -> Dataset:
    """A task from rows ``parse_jsonl`` (or ``dataset_formats.map_records``) accepted."""
    if kind == "classification":
        examples = tuple(Example(i, r["text"], r["label"]) for i, r in enumerate(rows))
    else:
        examples = tuple(Example(i, r["source"], r["target"]) for i, r in enumerate(rows))
    return Dataset(info, examples)


def load_builtin(name: str) -> Dataset:
    """A task shipped in services/common/data, by its catalog name."""
    if name not in BUILTIN_TASKS:
        raise DatasetError(f"unknown task {name!r}; builtin tasks: {sorted(BUILTIN_TASKS)}")
    info = BUILTIN_TASKS[name]
    raw = resources.files("services.common").joinpath("data", info.file).read_text("utf-8")
    kind, rows = parse_jsonl(raw, name=info.file)
    assert kind == info.kind, (name, kind)
    return to_dataset(info, kind, rows)


def load_upload(dataset_id: str, raw: str) -> Dataset:
    """An uploaded dataset (the JSONL text stored under ``layout.dataset_key(dataset_id)``)."""
    kind, rows = parse_jsonl(raw, name=f"upload:{dataset_id}")
    labels = tuple(sorted({r["label"] for r in rows})) if kind == "classification" else ()
    info = TaskInfo(
        name=f"upload:{dataset_id}",
        kind=kind,
        file=dataset_key(dataset_id),
        description="User upload",
        input_field="Input",
        output_field="Label" if kind == "classification" else "Output",
        instruction="",
        labels=labels,
    )
    return to_dataset(info, kind, rows)


def load_task(task: str, store: ArtifactStore) -> Dataset:
    """A spec's ``data.task``: a builtin task by name, or ``upload:<id>`` from the store."""
    if task.startswith("upload:"):
        dataset_id = task.split(":", 1)[1]
        return load_upload(dataset_id, store.get(dataset_key(dataset_id)).decode("utf-8"))
    return load_builtin(task)

"""Every problem of a submitted spec at once, each located by its path and said once.

pydantic already checks every field in one pass; this module makes its answer readable
and complete: an unknown key or value gets the closest valid one ("did you mean"), a
sweep's single error becomes one error per bad field or value (``sweep.demos.k.2``),
and the same message at the same place is given once. ``named_values`` lists the model
names and tasks a raw spec names, with their paths, so that the service's catalog
checks (``services/api/experiments/checks.py``) can run even on a spec pydantic refused,
and their errors come in the same answer.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from services.common.spec import ExperimentSpec
from services.common.spec.sweep_values import (
    SWEEPABLE,
    canonical_value,
    choice_hint,
    did_you_mean,
    sweep_problems,
    unknown_field_problem,
)

Loc = tuple[str | int, ...]
NAMED_FIELDS = ("model.name", "data.task", "demos.source_task")


@dataclass(frozen=True)
class SpecIssue:
    """One problem of a spec: where (``loc``, from the spec's root), what, and its type."""

    loc: Loc
    msg: str
    type: str

    @property
    def path(self) -> str:
        """``loc`` as a dotted path, e.g. ``demos.k`` (``(spec)`` for the whole spec)."""
        return ".".join(str(p) for p in self.loc) or "(spec)"


class SpecInvalid(ValueError):
    """A spec with problems; ``issues`` holds every one (``validate_spec`` raises it)."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{i.path}: {i.msg}" for i in issues))


def validate_spec(data: Any) -> ExperimentSpec:
    """The spec, or ``SpecInvalid`` with every problem pydantic finds, made readable."""
    spec, issues = spec_issues(data)
    if spec is None:
        raise SpecInvalid(issues)
    return spec


def spec_issues(data: Any) -> tuple[ExperimentSpec | None, list[SpecIssue]]:
    """(the spec, []) or (None, every problem, each once)."""
    try:
        return ExperimentSpec.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    issues: list[SpecIssue] = []
    for err in errors:
        issues.extend(_readable(data, dict(err)))
    return None, unique(issues)


def unique(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Each (place, message) once, in first-seen order."""
    seen: set[tuple[Loc, str]] = set()
    kept = []
    for issue in issues:
        if (issue.loc, issue.msg) not in seen:
            seen.add((issue.loc, issue.msg))
            kept.append(issue)
    return kept


def _readable(data: Any, err: dict[str, Any]) -> list[SpecIssue]:
    loc: Loc = tuple(err["loc"])
    kind = str(err["type"])
    if kind == "extra_forbidden" and loc:
        fields = _fields_at(loc[:-1])
        hint = did_you_mean(loc[-1], fields)
        listed = f" (fields here: {', '.join(fields)})" if fields and not hint else ""
        return [SpecIssue(loc, f"unknown field {loc[-1]!r}{hint}{listed}", "unknown_field")]
    if kind in ("literal_error", "enum"):
        return [SpecIssue(loc, f"{err['msg']}{choice_hint(err)}", kind)]
    if loc and loc[-1] in ("sweep", "overrides") and kind == "value_error":
        raw = _at(data, loc)
        if loc[-1] == "sweep":
            return [SpecIssue((*loc, *sub), m, t) for sub, m, t in sweep_problems(raw)] or [
                SpecIssue(loc, _msg(err), kind)
            ]
        return _override_issues(loc, raw) or [SpecIssue(loc, _msg(err), kind)]
    return [SpecIssue(loc, _msg(err), kind)]


def _msg(err: dict[str, Any]) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _override_issues(loc: Loc, raw: Any) -> list[SpecIssue]:
    if not isinstance(raw, dict):
        return []
    issues = []
    for key, value in raw.items():
        if key not in SWEEPABLE:
            issues.append(
                SpecIssue((*loc, key), unknown_field_problem(key, "override"), "unknown_field")
            )
            continue
        try:
            canonical_value(key, value, f"overrides[{key!r}]")
        except ValueError as exc:
            issues.append(SpecIssue((*loc, key), str(exc), "value_error"))
    return issues


def _at(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> X (lists are kept: an index in a location steps into them)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _fields_at(loc: Loc) -> list[str]:
    """The field names of the spec's object at ``loc`` (for a 'did you mean')."""
    current: Any = ExperimentSpec
    for part in loc:
        if isinstance(part, int):
            args = get_args(current)
            current = _unwrap(args[0]) if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _unwrap(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def named_values(data: Any) -> Iterator[tuple[Loc, str, Any]]:
    """(path, field, value) of every model name and task a raw spec names: its sections,
    ``models``, and every sweep and override (top level and in studies)."""
    if not isinstance(data, dict):
        return
    for dotted in NAMED_FIELDS:
        section, field = dotted.split(".")
        if isinstance(data.get(section), dict) and field in data[section]:
            yield (section, field), dotted, data[section][field]
    for i, name in enumerate(
        data.get("models") or [] if isinstance(data.get("models"), list) else []
    ):
        yield ("models", i), "model.name", name
    yield from _swept(("sweep",), data.get("sweep"))
    studies = data.get("studies")
    for j, study in enumerate(studies if isinstance(studies, list) else []):
        if isinstance(study, dict):
            yield from _swept(("studies", j, "sweep"), study.get("sweep"))
            overrides = study.get("overrides")
            for dotted in NAMED_FIELDS:
                if isinstance(overrides, dict) and dotted in overrides:
                    yield ("studies", j, "overrides", dotted), dotted, overrides[dotted]


def _swept(loc: Loc, sweep: Any) -> Iterator[tuple[Loc, str, Any]]:
    if not isinstance(sweep, dict):
        return
    for dotted in NAMED_FIELDS:
        values = sweep.get(dotted)
        for i, value in enumerate(values if isinstance(values, list) else []):
            yield (*loc, dotted, i), dotted, value

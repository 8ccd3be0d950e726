"""Sweep and override values as the run will use them, decided at submit.

A sweep value is validated by the field it sets (its section model: type, limits and
validators), and the validated value replaces what was sent: ``demos.k: [1, "2", 4.0]``
is stored, expanded, pooled and exported as ``[1, 2, 4]``. Values that become equal are
one configuration given twice; they are refused, naming the values, instead of becoming
runs pooled into one cell.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from pydantic import ValidationError

from services.common.spec import sections
from services.common.spec.sections import MAX_SWEEP_VALUES

SWEEPABLE = frozenset(
    {
        "model.name",
        "model.dtype",
        "data.task",
        "inference.n",
        "demos.k",
        "demos.selection",
        "demos.label_noise",
        "demos.source_task",
        "demos.scope",
        "demos.contrast",
        "template.kind",
        "lora.r",
        "lora.alpha",
        "lora.lr",
        "lora.epochs",
        "lora.steps_per_demo",
        "lora.max_steps",
        "lora.loss_on",
        "lora.target_modules",
        "causal.enabled",
    }
)
# One problem of a sweep: (where under the sweep, message, error type).
SweepProblem = tuple[tuple[str | int, ...], str, str]
_QUOTED = re.compile(r"'([^']*)'")  # the choices in pydantic's "'a', 'b' or 'c'"

SECTION_MODELS: dict[str, type[sections.StrictModel]] = {
    "model": sections.ModelSpec,
    "data": sections.DataSpec,
    "inference": sections.InferenceSpec,
    "demos": sections.DemoSpec,
    "template": sections.TemplateSpec,
    "lora": sections.LoraSpec,
    "extraction": sections.ExtractionSpec,
}


def canonical_value(dotted: str, value: Any, where: str) -> Any:
    """``value`` validated as the field ``dotted`` (section.field) and dumped as JSON
    stores it; ValueError naming ``where`` when the field refuses it."""
    section, field = dotted.split(".", 1)
    try:
        parsed = SECTION_MODELS[section].model_validate({field: value})
    except ValidationError as exc:
        msgs = "; ".join(e["msg"] + choice_hint(dict(e)) for e in exc.errors(include_url=False))
        raise ValueError(f"{where} = {_show(value)}: {msgs}") from None
    return parsed.model_dump(mode="json")[field]


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _identity(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def canonical_sweep_values(dotted: str, values: list[Any]) -> list[Any]:
    """Each value of one swept field canonicalised; ValueError naming the values that
    coincide once canonical (``[1, "1", "+1"]`` are one value given three times)."""
    canon = [canonical_value(dotted, v, f"sweep {dotted!r}[{i}]") for i, v in enumerate(values)]
    sent_as: dict[str, list[Any]] = {}
    for sent, value in zip(values, canon, strict=True):
        sent_as.setdefault(_identity(value), []).append(sent)
    dupes = [(ident, sent) for ident, sent in sent_as.items() if len(sent) > 1]
    if dupes:
        described = "; ".join(
            f"{ident} (given as {', '.join(_show(s) for s in sent)})" for ident, sent in dupes
        )
        raise ValueError(f"sweep {dotted!r} repeats a value: {described}")
    return canon


def did_you_mean(value: Any, choices: Any) -> str:
    """'; did you mean 'x'?' for the closest of ``choices`` to a mistyped string, else ''."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def choice_hint(err: dict[str, Any]) -> str:
    """A 'did you mean' for pydantic's error on a value outside a fixed set (a Literal or
    an enum: its ``ctx.expected`` lists the choices), else ''."""
    if err.get("type") not in ("literal_error", "enum"):
        return ""
    choices = _QUOTED.findall(str((err.get("ctx") or {}).get("expected", "")))
    return did_you_mean(err.get("input"), choices)


def unknown_field_problem(key: str, what: str) -> str:
    """Why ``key`` cannot be swept or overridden, with the closest sweepable field."""
    return f"cannot {what} {key!r}{did_you_mean(key, SWEEPABLE)} (sweepable: {', '.join(sorted(SWEEPABLE))})"


def sweep_problems(sweep: Any) -> list[SweepProblem]:
    """Every problem of a sweep, each located under it (``("demos.k", 2)``): unknown fields
    (with the closest sweepable one), empty or long value lists, values their field
    refuses, and values given twice."""
    if not isinstance(sweep, dict):
        return []  # pydantic names the type
    problems: list[SweepProblem] = []
    for key, values in sweep.items():
        if key not in SWEEPABLE:
            problems.append(((key,), unknown_field_problem(key, "sweep"), "unknown_field"))
        elif not isinstance(values, list) or not values:
            problems.append(
                ((key,), f"sweep {key!r} needs a non-empty list of values", "value_error")
            )
        elif len(values) > MAX_SWEEP_VALUES:
            msg = f"sweep {key!r} has {len(values)} values (max {MAX_SWEEP_VALUES})"
            problems.append(((key,), msg, "too_long"))
        else:
            problems.extend(_value_problems(key, values))
    return problems


def _value_problems(key: str, values: list[Any]) -> list[SweepProblem]:
    problems: list[SweepProblem] = []
    for i, value in enumerate(values):
        try:
            canonical_value(key, value, f"sweep {key!r}[{i}]")
        except ValueError as exc:
            problems.append(((key, i), str(exc), "value_error"))
    if not problems:
        try:
            canonical_sweep_values(key, values)
        except ValueError as exc:
            problems.append(((key,), str(exc), "value_error"))
    return problems


def check_sweep(sweep: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Sweepable fields with 1..MAX_SWEEP_VALUES values each, every value as its field
    stores it (canonical) and none given twice; ValueError with every problem."""
    problems = sweep_problems(sweep)
    if problems:
        raise ValueError("; ".join(msg for _, msg, _ in problems))
    return {key: canonical_sweep_values(key, values) for key, values in sweep.items()}


def canonical_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Each override value canonicalised like a sweep value."""
    return {k: canonical_value(k, v, f"overrides[{k!r}]") for k, v in overrides.items()}

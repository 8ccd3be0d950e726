"""Sweep and override values as the run will use them, decided at submit.

A sweep value is validated by the field it sets (its section model: type, limits and
validators), and the validated value replaces what was sent: ``demos.k: [1, "2", 4.0]``
is stored, expanded, pooled and exported as ``[1, 2, 4]``. Values that become equal are
one configuration given twice; they are refused, naming the values, instead of becoming
runs pooled into one cell.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from services.common.spec import sections

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
        msgs = "; ".join(e["msg"] for e in exc.errors(include_url=False))
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


def canonical_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Each override value canonicalised like a sweep value."""
    return {k: canonical_value(k, v, f"overrides[{k!r}]") for k, v in overrides.items()}

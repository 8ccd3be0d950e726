"""The results document (schema ``icl-it/results/v1``) as TypedDicts.

Metric and pair names are keys, not fields: new metrics (``shift_cosine``, ...) arrive in
the same shape, ``metrics[metric][pair] -> LayerStats``. For a flat table use
``IclIt.export()`` instead (docs/EXPORTS.md).
"""

from __future__ import annotations

from typing import Any, TypedDict


class LayerStats(TypedDict, total=False):
    """Per-layer series, index 0 = embeddings; ``None`` where undefined."""

    mean: list[float | None]
    std: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]
    n: list[int]
    value: list[float | None]  # per-run across-example metrics (CKA)


class AccuracyStats(TypedDict, total=False):
    mean: float
    ci_low: float
    ci_high: float
    n: int


class CellResult(TypedDict, total=False):
    """A configuration pooled over its seeds."""

    cell: str
    control: str
    studies: list[str]
    factors: dict[str, Any]
    config: dict[str, Any]
    run_keys: list[str]
    seeds: list[int]
    n_seeds: int
    n_examples: int
    n_layers: int
    layer_names: list[str]
    conditions: list[str]
    report_layer: int
    report_layer_clamped: bool
    metrics: dict[str, dict[str, LayerStats]]
    accuracy: dict[str, AccuracyStats]


class RunResult(TypedDict, total=False):
    key: str
    cell: str
    studies: list[str]
    factors: dict[str, Any]
    control: str
    seed: int
    n_examples: int
    n_layers: int
    conditions: list[str]
    metrics: dict[str, dict[str, LayerStats]]
    accuracy: dict[str, float]


class Study(TypedDict, total=False):
    name: str
    description: str
    factor: str | None
    levels: list[Any]
    report_layer: int | None
    cells: list[dict[str, Any]]
    tests: list[dict[str, Any]]


class Results(TypedDict, total=False):
    schema: str
    conventions: dict[str, Any]
    spec: dict[str, Any]
    metrics: list[str]
    runs: list[RunResult]
    cells: list[CellResult]
    studies: list[Study]
    controls: dict[str, Any]
    timings: dict[str, float]

"""The statistics of the typed documents: summaries of sample units and every kind of test,
and the aliases of the array fields (see the package docstring for their two forms)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

import numpy as np

from services.common.storage.hidden_states import PerExampleLayer, PerLayer

# An open JSON object: a spec section, a run's factors, a study's slice (dotted field ->
# value). Its keys come from the spec, so it is not a document of its own.
JsonObject: TypeAlias = dict[str, Any]
# Per layer [n_layers + 2]: numpy while computed, a list (NaN -> None) once serialised.
Curve: TypeAlias = PerLayer | list[float | None]
# Per example and layer [n_examples, n_layers + 2], in the same two forms.
Curves: TypeAlias = PerExampleLayer | list[list[float | None]]
# A metric's values in one run: per example [n][L], or across examples [L] (cka,
# shared_fraction).
MetricValues: TypeAlias = Curves | Curve
# Per example [n_examples], in the same two forms.
PerExample: TypeAlias = np.ndarray | list[float | None]
# The pairing matrices of a run or a cell (``shift_matrices.MATRICES``).
MatrixName: TypeAlias = Literal["matched", "own_cross", "input"]


# ---------------------------------------------------------------------------------------
# Statistics


class MeanCI(TypedDict):
    """``stats.mean_ci``: arrays along the kept axes, or floats when the result is scalar."""

    mean: Any
    std: Any
    ci_low: Any
    ci_high: Any
    n: Any
    single_sample: NotRequired[Any]


class LayerStats(TypedDict):
    """Per-layer statistics over a cell's sample units (``cells.stat_block``)."""

    mean: Curve
    std: Curve
    ci_low: Curve
    ci_high: Curve
    n: Curve


class PointStats(TypedDict):
    """``LayerStats`` at one layer (``cells.point``)."""

    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None
    n: float | None  # a count


class Proportion(TypedDict):
    """An accuracy with its Wilson interval."""

    mean: float
    ci_low: float
    ci_high: float
    n: int


class TestResult(TypedDict):
    """One paired test (``stats.paired_difference_test``; the schema's pairedTest): the
    difference, its test-inverted interval, p, the smallest attainable p, the minimum
    detectable effect at 80% power, n and the method."""

    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    ci_low: float | None
    ci_high: float | None
    p_value: float
    min_attainable_p: float
    method: str
    alpha: float
    significant: bool
    mde: float | None


class PairingTest(TestResult):
    """A pairing-permutation test (``pairing.pairing_permutation_test``), with what the
    diagonal (a) and the off-diagonal (b) are once a cell names them."""

    n_permutations: int
    exact: bool
    n_blocks: int
    null_sd: float | None
    null_shift_sd: float | None
    a: NotRequired[str]
    b: NotRequired[str]


class PairingTests(TypedDict):
    """A cell's pairing test and its decomposition (demonstration_specific,
    input_specific), None without the cross-adapter extraction."""

    pairing_test: PairingTest
    decomposition: dict[str, PairingTest] | None


class FamilyWise(TypedDict):
    """The step-down max-T test over every layer (``stats.max_t_across_layers``)."""

    n: int
    alpha: float
    method: str
    p_adjusted: list[float | None]
    significant_layers: list[int]


class TrendBase(TypedDict):
    """What every trend test reports about its design."""

    levels: list[Any]
    level_means: list[float]
    n: int
    n_blocks: int | None
    blocked: bool
    alpha: float


class TrendOutcome(TypedDict):
    """A trend test's result."""

    statistic: float
    slope: float
    direction: str
    p_value: float
    method: str
    significant: bool


class TrendPower(TypedDict, total=False):
    """How large a trend the design could detect (absent in results written before it)."""

    mde: float | None  # in the units of ``slope``; None where no linear contrast applies
    mde_method: str


class TrendResult(TrendBase, TrendOutcome, TrendPower):
    """A trend across a factor's levels (``trends.trend_test``, ``trends.page_trend``)."""

    kind: str

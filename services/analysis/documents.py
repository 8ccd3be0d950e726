"""The typed documents the analysis passes between its steps, named once.

    per_run.run_similarities    -> RunAnalysis    one run (analysis.json)
    cells.build_cell            -> cells.Cell     a cell's runs in sample units (a dataclass)
    cells.cell_summary          -> CellSummary    results.json "cells"
    stats / pairing / trends    -> TestResult, PairingTest, FamilyWise, TrendResult
    studies.study_tests         -> StudySummary   results.json "studies"
    summarize.summarize_experiment -> Results     results.json

Every document is a TypedDict: a plain dict at run time, so what is written is exactly what
was written before, while mypy checks each field's name and type. The JSON Schema
(``services/common/schemas/results.schema.json``) stays the contract at the edge.

One document, two forms. The analysis builds a document with numpy arrays (the shape
aliases of ``common/storage/hidden_states``, which explains the layer axis) and floats that
may be NaN; ``per_run.jsonable`` turns the finished document into JSON: arrays into nested
lists, NaN and inf into None. The cells read runs back in that form (analysis.json), and
the figures, tables and report read results.json in it. The array fields are therefore
typed with both forms (``Curve``, ``Curves``); a float field may be None once serialised,
which its readers check.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

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


class TrendResult(TrendBase, TrendOutcome):
    """A trend across a factor's levels (``trends.trend_test``, ``trends.page_trend``)."""

    kind: str


# ---------------------------------------------------------------------------------------
# One run: analysis.json


class RunPairing(TypedDict):
    """A run's pairing matrices (``shift_matrices.pairing_matrices``): per block of
    example ids, [L][m][m] of each matrix."""

    blocks: list[list[str]]
    cross: bool
    matched: NotRequired[list[Any]]
    own_cross: NotRequired[list[Any]]
    input: NotRequired[list[Any]]


class CkaNull(TypedDict):
    """CKA's permutation null per layer."""

    p: list[Any]
    null_sd: list[Any]


class RunIT(TypedDict):
    """A run's instruction tuning: budget, steps, each adapter's final loss."""

    budget: Any
    steps: Any
    final_loss: list[float | None] | None
    controls_skipped: list[str]
    it_state_norm: float | None
    random_lora_state_norm: float | None


class RunCausal(TypedDict):
    """A run's task-vector check (``causal.run_causal``): patched[shift][own|cross]
    [measure] = [n][Lp], unpatched[condition][kl_<reference>] = [n]."""

    layers: list[int]
    layer_names: list[str]
    n_cross: int
    patched: dict[str, dict[str, dict[str, Any]]]
    unpatched: dict[str, dict[str, Any]]
    head_check_max_abs: float | None
    layers_skipped: list[int]


class RunAnalysis(TypedDict):
    """One run's analysis (``per_run.run_similarities``; analysis.json): values[metric]
    [pair] per example and layer, accuracy, label mass, tuning, the task-vector check, and
    the run's stage timings once the pipeline step adds them."""

    key: str
    cell: str
    studies: list[str]
    factors: JsonObject
    control: str
    seed: int | None
    config: JsonObject
    n_examples: int
    n_layers: int
    layer_names: list[str]
    conditions: list[str]
    example_ids: list[str]
    label_names: list[str]
    values: dict[str, dict[str, MetricValues]]
    pairing: RunPairing | None
    cka_null: dict[str, CkaNull]
    correct: dict[str, Any]
    accuracy: dict[str, float | None]
    label_mass: dict[str, Any]
    it: RunIT
    causal: RunCausal | None
    precision: str | None
    timings: NotRequired[dict[str, float]]


class SeedAveragedPairing(TypedDict):
    """A cell's pairing matrices averaged over seeds (``decomposition``): blocks of row
    indices into the cell's example ids, and per block an array [L, m, m] of each matrix."""

    blocks: list[list[int]]
    cross: bool
    n_seeds: int
    matched: NotRequired[list[Any]]
    own_cross: NotRequired[list[Any]]
    input: NotRequired[list[Any]]


# ---------------------------------------------------------------------------------------
# One cell: results.json "cells"


class PrimaryResult(PairingTests):
    """A cell's primary measure (``cells.primary``): the pairing test and its
    decomposition, the row-mean sign-flip tests, the per-layer difference, the family-wise
    test."""

    measure: str
    layer: int
    secondary: str
    test: TestResult
    last_block_layer: int
    test_last_block: TestResult
    difference: LayerStats
    family_wise: FamilyWise


class CellIT(TypedDict):
    """A cell's tuning: the first run's budget and steps, the mean final loss."""

    budget: Any
    steps: Any
    final_loss: float | None
    controls_skipped: list[str]


class CellCausal(TypedDict):
    """A cell's task-vector check (``causal.cell_causal``)."""

    layers: list[int]
    layer_names: list[str]
    n_cross: int
    n_examples: int
    headline_layer: int
    patched: dict[str, dict[str, dict[str, MeanCI]]]
    own_vs_cross: dict[str, dict[str, list[TestResult]]]
    unpatched: dict[str, dict[str, MeanCI]]
    head_check_max_abs: float
    layers_skipped: list[int]
    statement: NotRequired[str]


class CellSummary(TypedDict):
    """A cell's entry in results.json (``cells.cell_summary``)."""

    cell: str
    control: str
    studies: list[str]
    factors: JsonObject
    config: JsonObject
    run_keys: list[str]
    seeds: list[int | None]
    n_seeds: int
    n_examples: int
    n_layers: int
    layer_names: list[str]
    conditions: list[str]
    report_layer: int
    report_layer_clamped: bool
    metrics: dict[str, dict[str, LayerStats]]
    primary: PrimaryResult | None
    control_tests: dict[str, TestResult]
    cka_null: dict[str, CkaNull]
    accuracy: dict[str, Proportion]
    label_mass: dict[str, MeanCI]
    it: CellIT
    causal: CellCausal | None


class LayerValues(TypedDict):
    """An across-example metric of one run: one value per layer."""

    value: Curve


class RunSummary(TypedDict):
    """A run's entry in results.json (``summarize``): per-layer statistics of its values."""

    key: str
    cell: str
    studies: list[str]
    factors: JsonObject
    control: str
    seed: int | None
    n_examples: int
    n_layers: int
    conditions: list[str]
    metrics: dict[str, dict[str, LayerStats | LayerValues]]
    accuracy: dict[str, float | None]
    it: RunIT | None
    precision: str | None


# ---------------------------------------------------------------------------------------
# One study: results.json "studies"


class CellRef(TypedDict):
    """A cell of a study: its level of the factor and its slice (the other swept fields)."""

    cell: str
    level: Any
    slice: JsonObject


class LastBlockTest(TestResult):
    """The row-mean sign-flip test at the last block's own output."""

    layer: int


class PrimaryTest(PairingTest, CellRef):
    """A study level's primary test (``studies``): the pairing test with its companions,
    Holm-adjusted over the study (p_holm_study) and the experiment (p_holm_experiment)."""

    metric: str
    layer: int
    row_mean_sign_flip: TestResult
    decomposition: dict[str, PairingTest] | None
    last_block: LastBlockTest
    family_wise: FamilyWise
    shared_demonstrations: bool
    shift_norms: dict[str, float | None]
    cross_adapter: TestResult | None
    p_holm_study: NotRequired[float | None]
    p_holm_experiment: NotRequired[float | None]
    mde_experiment: NotRequired[float | None]


class PaperTest(TestResult, CellRef):
    """The paper's comparison in one cell: ICL–IT vs anchor–ICL of a state similarity."""

    metric: str
    layer: int
    a: str
    b: str


class StudyTrend(TrendResult):
    """A trend of one slice of a study."""

    metric: str
    pair: str
    factor: str
    slice: JsonObject


class StudySummary(TypedDict):
    """A study's entry in results.json (``studies.study_tests``, then its statements)."""

    name: str
    description: str
    factor: str | None
    levels: list[Any]
    report_layer: int | None
    layer_names: list[str] | None
    n_slices: int
    unit: str
    cells: list[CellRef]
    primary_tests: list[PrimaryTest]
    tests: list[PaperTest]
    trends: list[StudyTrend]
    primary_metric: str
    statements: NotRequired[dict[str, str]]
    statement: NotRequired[str]


# ---------------------------------------------------------------------------------------
# The experiment: results.json


class Statement(TypedDict):
    """One statement of results.json: a study's primary verdict or the paper's comparison."""

    study: str
    kind: str
    text: str


class PairPoints(TypedDict):
    """One pair of a random-init control at the report layer, random-init vs real."""

    random_init: PointStats
    real: PointStats | None


class RandomInitControl(TypedDict):
    """A random-init cell against its real twin (results.json controls.random_init): per
    metric, each paper pair's points and the test ``test_icl_it_real_vs_random``."""

    cell: str
    matched_cell: str | None
    model: str | None
    layer: int
    it_final_loss: float | None
    metrics: dict[str, dict[str, PairPoints | TestResult]]


class Controls(TypedDict):
    """results.json "controls"."""

    random_init: list[RandomInitControl]
    identity_checks: list[JsonObject]
    notes: str


class Results(TypedDict):
    """The RESULTS document (schema icl-it/results/v1), with the summed stage timings once
    the pipeline step adds them."""

    schema: str
    conventions: JsonObject
    spec: JsonObject
    metrics: list[str]
    statements: list[Statement]
    runs: list[RunSummary]
    cells: list[CellSummary]
    studies: list[StudySummary]
    controls: Controls
    timings: NotRequired[dict[str, float]]

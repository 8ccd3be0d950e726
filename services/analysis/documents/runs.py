"""The documents of one run, one cell, one study and the experiment (analysis.json and
results.json); their statistics are in ``documents.statistics``."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from services.analysis.documents.statistics import (
    Curve,
    Curves,
    FamilyWise,
    JsonObject,
    LayerStats,
    MeanCI,
    MetricValues,
    PairingTest,
    PairingTests,
    PerExample,
    PointStats,
    Proportion,
    TestResult,
    TrendResult,
)

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
    # step, mean, min, max over the adapters (the tuning-loss figure; absent in older runs)
    loss_curve: NotRequired[dict[str, list[float | None]] | None]
    controls_skipped: list[str]
    it_state_norm: float | None
    random_lora_state_norm: float | None


class RunCausal(TypedDict):
    """A run's task-vector check (``causal.run_causal``): patched[shift][own|cross]
    [measure] = [n][Lp], unpatched[condition][kl_<reference>] = [n]."""

    layers: list[int]
    layer_names: list[str]
    n_cross: int
    n_cross_adapter: NotRequired[int]  # 0: no demonstration-specific version
    patched: dict[str, dict[str, dict[str, Curves]]]  # [n][Lp]: per patched block
    unpatched: dict[str, dict[str, PerExample]]
    head_check_max_abs: float | None
    layers_skipped: list[int]


class RunIdentity(TypedDict):
    """What names a run and its size, in its analysis and in results.json "runs"."""

    key: str
    cell: str
    studies: list[str]
    factors: JsonObject
    control: str
    seed: int | None
    n_examples: int
    n_layers: int
    conditions: list[str]
    accuracy: dict[str, float | None]
    precision: str | None


class RunAnalysis(RunIdentity):
    """One run's analysis (``per_run.run_similarities``; analysis.json): values[metric]
    [pair] per example and layer, accuracy, label mass, tuning, the task-vector check, and
    the run's stage timings once the pipeline step adds them."""

    config: JsonObject
    layer_names: list[str]
    conditions: list[str]
    example_ids: list[str]
    label_names: list[str]
    values: dict[str, dict[str, MetricValues]]
    pairing: RunPairing | None
    cka_null: dict[str, CkaNull]
    correct: dict[str, PerExample]  # 1, 0, or NaN (no label)
    label_mass: dict[str, PerExample]
    it: RunIT
    causal: RunCausal | None
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
    n_cross_adapter: NotRequired[int]
    own_vs_cross_adapter: NotRequired[dict[str, list[TestResult]]]  # IT shift, input fixed
    unpatched: dict[str, dict[str, MeanCI]]
    head_check_max_abs: float
    layers_skipped: list[int]
    statement: NotRequired[str]


class CellSummary(TypedDict):
    """A cell's entry in results.json (``cells.cell_summary``; ``label``: added by
    ``vocabulary.label_cells``)."""

    cell: str
    label: NotRequired[str]
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


class RunSummary(RunIdentity):
    """A run's entry in results.json (``summarize``): per-layer statistics of its values."""

    metrics: dict[str, dict[str, LayerStats | LayerValues]]
    it: RunIT | None


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

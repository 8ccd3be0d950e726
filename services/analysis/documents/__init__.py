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

``documents.statistics`` holds the array aliases, the statistics and every kind of test;
``documents.runs`` the documents of a run, a cell, a study and the experiment. Import both
from here.
"""

from services.analysis.documents.runs import (
    CellCausal,
    CellIT,
    CellRef,
    CellSummary,
    CkaNull,
    Controls,
    LastBlockTest,
    LayerValues,
    PairPoints,
    PaperTest,
    PrimaryResult,
    PrimaryTest,
    RandomInitControl,
    Results,
    RunAnalysis,
    RunCausal,
    RunIdentity,
    RunIT,
    RunPairing,
    RunSummary,
    SeedAveragedPairing,
    Statement,
    StudySummary,
    StudyTrend,
)
from services.analysis.documents.statistics import (
    Curve,
    Curves,
    FamilyWise,
    JsonObject,
    LayerStats,
    MatrixName,
    MeanCI,
    MetricValues,
    PairingTest,
    PairingTests,
    PerExample,
    PointStats,
    Proportion,
    TestResult,
    TrendBase,
    TrendOutcome,
    TrendPower,
    TrendResult,
)

__all__ = [
    "CellCausal",
    "CellIT",
    "CellRef",
    "CellSummary",
    "CkaNull",
    "Controls",
    "Curve",
    "Curves",
    "FamilyWise",
    "JsonObject",
    "LastBlockTest",
    "LayerStats",
    "LayerValues",
    "MatrixName",
    "MeanCI",
    "MetricValues",
    "PairPoints",
    "PairingTest",
    "PairingTests",
    "PaperTest",
    "PerExample",
    "PointStats",
    "PrimaryResult",
    "PrimaryTest",
    "Proportion",
    "RandomInitControl",
    "Results",
    "RunAnalysis",
    "RunCausal",
    "RunIdentity",
    "RunIT",
    "RunPairing",
    "RunSummary",
    "SeedAveragedPairing",
    "Statement",
    "StudySummary",
    "StudyTrend",
    "TestResult",
    "TrendBase",
    "TrendOutcome",
    "TrendPower",
    "TrendResult",
]

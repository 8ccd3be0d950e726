"""The results document (schema ``icl-it/results/v1``) as the generated client's models.

They are generated from the OpenAPI document, whose ``ResultsDocument`` is the analysis's
own JSON Schema (services/common/schemas/results.schema.json): there is no second copy of
the schema here. Metric and pair names are keys, not fields, so new metrics arrive in the
same shape: ``cell.metrics["cosine"]["icl_it"].mean`` (a ``ResultsLayerStats``). For a
flat table use ``IclIt.export()`` instead (docs/EXPORTS.md); ``to_dict()`` gives the JSON.
"""

from __future__ import annotations

from icl_it_client.models import (
    ResultsCell,
    ResultsDocument,
    ResultsLayerStats,
    ResultsLayerValues,
    ResultsPairedTest,
    ResultsRun,
    ResultsStudy,
)

# The SDK's earlier names for the same parts of the document.
Results = ResultsDocument
CellResult = ResultsCell
RunResult = ResultsRun
Study = ResultsStudy
LayerStats = ResultsLayerStats

__all__ = [
    "CellResult",
    "LayerStats",
    "Results",
    "ResultsCell",
    "ResultsDocument",
    "ResultsLayerStats",
    "ResultsLayerValues",
    "ResultsPairedTest",
    "ResultsRun",
    "ResultsStudy",
    "RunResult",
    "Study",
]

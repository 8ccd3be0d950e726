"""The results document (schema ``icl-it/results/v1``) as the generated client's models.

They are generated from the OpenAPI document, whose ``ResultsDocument`` is the analysis's
own JSON Schema (services/common/schemas/results.schema.json): there is no second copy of
the schema here. Metric and pair names are keys, not fields, so new metrics arrive in the
same shape: ``cell.metrics["cosine"]["icl_it"].mean`` (a ``ResultsLayerStats``). Each
cell has its id (``cell.cell``) and a readable ``cell.label`` (``"k=8, selection=random"``).

``Results`` (what ``IclIt.results`` returns) is the document plus ``to_pandas()``: the
server's long tables (docs/EXPORTS.md) as a DataFrame, with pandas as the optional extra
``pip install 'icl-it-sdk[pandas]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from icl_it_client.models import (
    ResultsCell,
    ResultsDocument,
    ResultsLayerStats,
    ResultsLayerValues,
    ResultsPairedTest,
    ResultsRun,
    ResultsStudy,
)

if TYPE_CHECKING:
    import pandas

ExportTable = Literal["cells", "examples"]
TableFetcher = Callable[[ExportTable], dict[str, Any]]
PANDAS_MISSING = (
    "to_pandas() needs pandas, an optional extra of the SDK: pip install 'icl-it-sdk[pandas]'"
)


def cell_name(cell: ResultsCell) -> str:
    """The cell's readable label (its factors); its id for a document written before
    labels were added."""
    return cell.label if isinstance(cell.label, str) else cell.cell


class Results(ResultsDocument):
    """The results document of one experiment, typed by its schema, with its tables.

    ``results.cell("k=8, selection=random")`` finds a cell by label (or id);
    ``results.to_pandas()`` is the per-cell long table, ``to_pandas("examples")`` the
    per-example one (both read from the server, which builds them from this document
    and the runs' analyses)."""

    _fetch_table: TableFetcher | None = None

    def labels(self) -> list[str]:
        """Every cell's label, in the document's order."""
        return [cell_name(c) for c in self.cells]

    def cell(self, name: str) -> ResultsCell:
        """The cell with this label (or id); KeyError naming the labels otherwise."""
        for c in self.cells:
            if name in (c.cell, cell_name(c)):
                return c
        raise KeyError(f"no cell {name!r}; cells: {', '.join(self.labels())}")

    def to_pandas(self, table: ExportTable = "cells") -> pandas.DataFrame:
        """A long table as a DataFrame (columns in docs/EXPORTS.md; ``label`` names each cell
        by its factors). Needs pandas (``pip install 'icl-it-sdk[pandas]'``)."""
        try:
            import pandas
        except ImportError as exc:
            raise ImportError(PANDAS_MISSING) from exc
        if self._fetch_table is None:
            raise ValueError("this document was not read through IclIt.results(): no tables")
        records = self._fetch_table(table)
        return pandas.DataFrame.from_records(records["rows"], columns=records["columns"])


def bind_tables(results: Results, fetch: TableFetcher) -> Results:
    """``results`` whose ``to_pandas`` reads its tables with ``fetch``."""
    results._fetch_table = fetch
    return results


# The SDK's earlier names for the same parts of the document.
CellResult = ResultsCell
RunResult = ResultsRun
Study = ResultsStudy
LayerStats = ResultsLayerStats

__all__ = [
    "PANDAS_MISSING",
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
    "bind_tables",
    "cell_name",
]

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.results_document_metrics_item import ResultsDocumentMetricsItem

if TYPE_CHECKING:
    from ..models.results_cell import ResultsCell
    from ..models.results_controls import ResultsControls
    from ..models.results_document_conventions import ResultsDocumentConventions
    from ..models.results_document_spec import ResultsDocumentSpec
    from ..models.results_document_statements_item import ResultsDocumentStatementsItem
    from ..models.results_run import ResultsRun
    from ..models.results_study import ResultsStudy


T = TypeVar("T", bound="ResultsDocument")


@_attrs_define
class ResultsDocument:
    """ICL vs IT results document (icl-it/results/v1). Written by services/analysis/summarize.py:summarize_experiment. NaN
    and undefined values are serialized as null. Layer lists have n_layers+2 entries: index 0 = embedding output, i =
    output of decoder block i (before any final norm), n_layers+1 = final norm output.

        Attributes:
            schema (Literal['icl-it/results/v1']):
            conventions (ResultsDocumentConventions):
            spec (ResultsDocumentSpec): The ExperimentSpec, normalized (defaults filled in).
            metrics (list[ResultsDocumentMetricsItem]):
            runs (list[ResultsRun]):
            cells (list[ResultsCell]):
            studies (list[ResultsStudy]):
            controls (ResultsControls):
            statements (list[ResultsDocumentStatementsItem]): Plain-English statements; the first is the primary one
                (demonstration-specific convergence of the first study).
    """

    schema: Literal["icl-it/results/v1"]
    conventions: ResultsDocumentConventions
    spec: ResultsDocumentSpec
    metrics: list[ResultsDocumentMetricsItem]
    runs: list[ResultsRun]
    cells: list[ResultsCell]
    studies: list[ResultsStudy]
    controls: ResultsControls
    statements: list[ResultsDocumentStatementsItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        schema = self.schema

        conventions = self.conventions.to_dict()

        spec = self.spec.to_dict()

        metrics = []
        for metrics_item_data in self.metrics:
            metrics_item = metrics_item_data.value
            metrics.append(metrics_item)

        runs = []
        for runs_item_data in self.runs:
            runs_item = runs_item_data.to_dict()
            runs.append(runs_item)

        cells = []
        for cells_item_data in self.cells:
            cells_item = cells_item_data.to_dict()
            cells.append(cells_item)

        studies = []
        for studies_item_data in self.studies:
            studies_item = studies_item_data.to_dict()
            studies.append(studies_item)

        controls = self.controls.to_dict()

        statements = []
        for statements_item_data in self.statements:
            statements_item = statements_item_data.to_dict()
            statements.append(statements_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "schema": schema,
                "conventions": conventions,
                "spec": spec,
                "metrics": metrics,
                "runs": runs,
                "cells": cells,
                "studies": studies,
                "controls": controls,
                "statements": statements,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_cell import ResultsCell  # noqa: PLC0415
        from ..models.results_controls import ResultsControls  # noqa: PLC0415
        from ..models.results_document_conventions import ResultsDocumentConventions  # noqa: PLC0415
        from ..models.results_document_spec import ResultsDocumentSpec  # noqa: PLC0415
        from ..models.results_document_statements_item import ResultsDocumentStatementsItem  # noqa: PLC0415
        from ..models.results_run import ResultsRun  # noqa: PLC0415
        from ..models.results_study import ResultsStudy  # noqa: PLC0415

        d = dict(src_dict)
        schema = cast(Literal["icl-it/results/v1"], d.pop("schema"))
        if schema != "icl-it/results/v1":
            raise ValueError(f"schema must match const 'icl-it/results/v1', got '{schema}'")

        conventions = ResultsDocumentConventions.from_dict(d.pop("conventions"))

        spec = ResultsDocumentSpec.from_dict(d.pop("spec"))

        metrics = []
        _metrics = d.pop("metrics")
        for metrics_item_data in _metrics:
            metrics_item = ResultsDocumentMetricsItem(metrics_item_data)

            metrics.append(metrics_item)

        runs = []
        _runs = d.pop("runs")
        for runs_item_data in _runs:
            runs_item = ResultsRun.from_dict(runs_item_data)

            runs.append(runs_item)

        cells = []
        _cells = d.pop("cells")
        for cells_item_data in _cells:
            cells_item = ResultsCell.from_dict(cells_item_data)

            cells.append(cells_item)

        studies = []
        _studies = d.pop("studies")
        for studies_item_data in _studies:
            studies_item = ResultsStudy.from_dict(studies_item_data)

            studies.append(studies_item)

        controls = ResultsControls.from_dict(d.pop("controls"))

        statements = []
        _statements = d.pop("statements")
        for statements_item_data in _statements:
            statements_item = ResultsDocumentStatementsItem.from_dict(statements_item_data)

            statements.append(statements_item)

        results_document = cls(
            schema=schema,
            conventions=conventions,
            spec=spec,
            metrics=metrics,
            runs=runs,
            cells=cells,
            studies=studies,
            controls=controls,
            statements=statements,
        )

        results_document.additional_properties = d
        return results_document

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

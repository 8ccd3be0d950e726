from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.results_study_primary_metric_type_0 import ResultsStudyPrimaryMetricType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_study_cells_item import ResultsStudyCellsItem
    from ..models.results_study_primary_tests_item import ResultsStudyPrimaryTestsItem
    from ..models.results_study_statements import ResultsStudyStatements
    from ..models.results_study_tests_item import ResultsStudyTestsItem
    from ..models.results_study_trends_item import ResultsStudyTrendsItem


T = TypeVar("T", bound="ResultsStudy")


@_attrs_define
class ResultsStudy:
    """
    Attributes:
        name (str):
        description (str):
        factor (None | str):
        levels (list[Any]):
        report_layer (int | None):
        cells (list[ResultsStudyCellsItem]):
        tests (list[ResultsStudyTestsItem]):
        trends (list[ResultsStudyTrendsItem]):
        primary_metric (None | ResultsStudyPrimaryMetricType0):
        statements (ResultsStudyStatements):
        statement (str):
        primary_tests (list[ResultsStudyPrimaryTestsItem]):
        layer_names (list[str] | None | Unset):
        n_slices (int | Unset):
        unit (str | Unset):
    """

    name: str
    description: str
    factor: None | str
    levels: list[Any]
    report_layer: int | None
    cells: list[ResultsStudyCellsItem]
    tests: list[ResultsStudyTestsItem]
    trends: list[ResultsStudyTrendsItem]
    primary_metric: None | ResultsStudyPrimaryMetricType0
    statements: ResultsStudyStatements
    statement: str
    primary_tests: list[ResultsStudyPrimaryTestsItem]
    layer_names: list[str] | None | Unset = UNSET
    n_slices: int | Unset = UNSET
    unit: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        factor: None | str
        factor = self.factor

        levels = self.levels

        report_layer: int | None
        report_layer = self.report_layer

        cells = []
        for cells_item_data in self.cells:
            cells_item = cells_item_data.to_dict()
            cells.append(cells_item)

        tests = []
        for tests_item_data in self.tests:
            tests_item = tests_item_data.to_dict()
            tests.append(tests_item)

        trends = []
        for trends_item_data in self.trends:
            trends_item = trends_item_data.to_dict()
            trends.append(trends_item)

        primary_metric: None | str
        if isinstance(self.primary_metric, ResultsStudyPrimaryMetricType0):
            primary_metric = self.primary_metric.value
        else:
            primary_metric = self.primary_metric

        statements = self.statements.to_dict()

        statement = self.statement

        primary_tests = []
        for primary_tests_item_data in self.primary_tests:
            primary_tests_item = primary_tests_item_data.to_dict()
            primary_tests.append(primary_tests_item)

        layer_names: list[str] | None | Unset
        if isinstance(self.layer_names, Unset):
            layer_names = UNSET
        elif isinstance(self.layer_names, list):
            layer_names = self.layer_names

        else:
            layer_names = self.layer_names

        n_slices = self.n_slices

        unit = self.unit

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "description": description,
                "factor": factor,
                "levels": levels,
                "report_layer": report_layer,
                "cells": cells,
                "tests": tests,
                "trends": trends,
                "primary_metric": primary_metric,
                "statements": statements,
                "statement": statement,
                "primary_tests": primary_tests,
            }
        )
        if layer_names is not UNSET:
            field_dict["layer_names"] = layer_names
        if n_slices is not UNSET:
            field_dict["n_slices"] = n_slices
        if unit is not UNSET:
            field_dict["unit"] = unit

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_study_cells_item import ResultsStudyCellsItem  # noqa: PLC0415
        from ..models.results_study_primary_tests_item import ResultsStudyPrimaryTestsItem  # noqa: PLC0415
        from ..models.results_study_statements import ResultsStudyStatements  # noqa: PLC0415
        from ..models.results_study_tests_item import ResultsStudyTestsItem  # noqa: PLC0415
        from ..models.results_study_trends_item import ResultsStudyTrendsItem  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        def _parse_factor(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        factor = _parse_factor(d.pop("factor"))

        levels = cast(list[Any], d.pop("levels"))

        def _parse_report_layer(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        report_layer = _parse_report_layer(d.pop("report_layer"))

        cells = []
        _cells = d.pop("cells")
        for cells_item_data in _cells:
            cells_item = ResultsStudyCellsItem.from_dict(cells_item_data)

            cells.append(cells_item)

        tests = []
        _tests = d.pop("tests")
        for tests_item_data in _tests:
            tests_item = ResultsStudyTestsItem.from_dict(tests_item_data)

            tests.append(tests_item)

        trends = []
        _trends = d.pop("trends")
        for trends_item_data in _trends:
            trends_item = ResultsStudyTrendsItem.from_dict(trends_item_data)

            trends.append(trends_item)

        def _parse_primary_metric(data: object) -> None | ResultsStudyPrimaryMetricType0:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                primary_metric_type_0 = ResultsStudyPrimaryMetricType0(data)

                return primary_metric_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsStudyPrimaryMetricType0, data)

        primary_metric = _parse_primary_metric(d.pop("primary_metric"))

        statements = ResultsStudyStatements.from_dict(d.pop("statements"))

        statement = d.pop("statement")

        primary_tests = []
        _primary_tests = d.pop("primary_tests")
        for primary_tests_item_data in _primary_tests:
            primary_tests_item = ResultsStudyPrimaryTestsItem.from_dict(primary_tests_item_data)

            primary_tests.append(primary_tests_item)

        def _parse_layer_names(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                layer_names_type_0 = cast(list[str], data)

                return layer_names_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        layer_names = _parse_layer_names(d.pop("layer_names", UNSET))

        n_slices = d.pop("n_slices", UNSET)

        unit = d.pop("unit", UNSET)

        results_study = cls(
            name=name,
            description=description,
            factor=factor,
            levels=levels,
            report_layer=report_layer,
            cells=cells,
            tests=tests,
            trends=trends,
            primary_metric=primary_metric,
            statements=statements,
            statement=statement,
            primary_tests=primary_tests,
            layer_names=layer_names,
            n_slices=n_slices,
            unit=unit,
        )

        return results_study

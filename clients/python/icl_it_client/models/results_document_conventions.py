from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_document_conventions_metrics import ResultsDocumentConventionsMetrics
    from ..models.results_document_conventions_pairs import ResultsDocumentConventionsPairs


T = TypeVar("T", bound="ResultsDocumentConventions")


@_attrs_define
class ResultsDocumentConventions:
    """
    Attributes:
        layer_indexing (str):
        position (Literal['last prompt token']):
        pairs (ResultsDocumentConventionsPairs):
        metrics (ResultsDocumentConventionsMetrics):
        ci_method (str):
        tests (str):
        accuracy (str):
        primary (str | Unset):
    """

    layer_indexing: str
    position: Literal["last prompt token"]
    pairs: ResultsDocumentConventionsPairs
    metrics: ResultsDocumentConventionsMetrics
    ci_method: str
    tests: str
    accuracy: str
    primary: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        layer_indexing = self.layer_indexing

        position = self.position

        pairs = self.pairs.to_dict()

        metrics = self.metrics.to_dict()

        ci_method = self.ci_method

        tests = self.tests

        accuracy = self.accuracy

        primary = self.primary

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "layer_indexing": layer_indexing,
                "position": position,
                "pairs": pairs,
                "metrics": metrics,
                "ci_method": ci_method,
                "tests": tests,
                "accuracy": accuracy,
            }
        )
        if primary is not UNSET:
            field_dict["primary"] = primary

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_document_conventions_metrics import ResultsDocumentConventionsMetrics  # noqa: PLC0415
        from ..models.results_document_conventions_pairs import ResultsDocumentConventionsPairs  # noqa: PLC0415

        d = dict(src_dict)
        layer_indexing = d.pop("layer_indexing")

        position = cast(Literal["last prompt token"], d.pop("position"))
        if position != "last prompt token":
            raise ValueError(f"position must match const 'last prompt token', got '{position}'")

        pairs = ResultsDocumentConventionsPairs.from_dict(d.pop("pairs"))

        metrics = ResultsDocumentConventionsMetrics.from_dict(d.pop("metrics"))

        ci_method = d.pop("ci_method")

        tests = d.pop("tests")

        accuracy = d.pop("accuracy")

        primary = d.pop("primary", UNSET)

        results_document_conventions = cls(
            layer_indexing=layer_indexing,
            position=position,
            pairs=pairs,
            metrics=metrics,
            ci_method=ci_method,
            tests=tests,
            accuracy=accuracy,
            primary=primary,
        )

        results_document_conventions.additional_properties = d
        return results_document_conventions

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

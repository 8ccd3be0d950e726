from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.results_slice import ResultsSlice


T = TypeVar("T", bound="ResultsStudyCellsItem")


@_attrs_define
class ResultsStudyCellsItem:
    """
    Attributes:
        cell (str):
        level (Any):
        slice_ (ResultsSlice): Values of the study's other swept fields.
    """

    cell: str
    level: Any
    slice_: ResultsSlice

    def to_dict(self) -> dict[str, Any]:
        cell = self.cell

        level = self.level

        slice_ = self.slice_.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cell": cell,
                "level": level,
                "slice": slice_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_slice import ResultsSlice  # noqa: PLC0415

        d = dict(src_dict)
        cell = d.pop("cell")

        level = d.pop("level")

        slice_ = ResultsSlice.from_dict(d.pop("slice"))

        results_study_cells_item = cls(
            cell=cell,
            level=level,
            slice_=slice_,
        )

        return results_study_cells_item

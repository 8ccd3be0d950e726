from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Progress")


@_attrs_define
class Progress:
    """How far an experiment is, in runs.

    Attributes:
        completed_runs (int): Runs in a final state.
        total_runs (int):
        fraction (float): 0..1, counting the progress of running runs too.
    """

    completed_runs: int
    total_runs: int
    fraction: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed_runs = self.completed_runs

        total_runs = self.total_runs

        fraction = self.fraction

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_runs": completed_runs,
                "total_runs": total_runs,
                "fraction": fraction,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        completed_runs = d.pop("completed_runs")

        total_runs = d.pop("total_runs")

        fraction = d.pop("fraction")

        progress = cls(
            completed_runs=completed_runs,
            total_runs=total_runs,
            fraction=fraction,
        )

        progress.additional_properties = d
        return progress

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

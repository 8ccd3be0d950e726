from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Task")


@_attrs_define
class Task:
    """A builtin task: its kind, label set and number of rows.

    Attributes:
        name (str):
        kind (str):
        description (str):
        labels (list[str]):
        n_rows (int):
    """

    name: str
    kind: str
    description: str
    labels: list[str]
    n_rows: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        kind = self.kind

        description = self.description

        labels = self.labels

        n_rows = self.n_rows

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "kind": kind,
                "description": description,
                "labels": labels,
                "n_rows": n_rows,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        kind = d.pop("kind")

        description = d.pop("description")

        labels = cast(list[str], d.pop("labels"))

        n_rows = d.pop("n_rows")

        task = cls(
            name=name,
            kind=kind,
            description=description,
            labels=labels,
            n_rows=n_rows,
        )

        task.additional_properties = d
        return task

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

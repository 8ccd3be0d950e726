from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dataset_kind import DatasetKind

T = TypeVar("T", bound="Dataset")


@_attrs_define
class Dataset:
    """An uploaded JSONL dataset, referenced from a spec as ``upload:<id>``.

    Attributes:
        id (str):
        task (str): Use as data.task or demos.source_task: upload:<id>.
        kind (DatasetKind):
        n_rows (int):
        size_bytes (int):
        sha256 (str):
        created_at (datetime.datetime):
    """

    id: str
    task: str
    kind: DatasetKind
    n_rows: int
    size_bytes: int
    sha256: str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        task = self.task

        kind = self.kind.value

        n_rows = self.n_rows

        size_bytes = self.size_bytes

        sha256 = self.sha256

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "task": task,
                "kind": kind,
                "n_rows": n_rows,
                "size_bytes": size_bytes,
                "sha256": sha256,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        task = d.pop("task")

        kind = DatasetKind(d.pop("kind"))

        n_rows = d.pop("n_rows")

        size_bytes = d.pop("size_bytes")

        sha256 = d.pop("sha256")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        dataset = cls(
            id=id,
            task=task,
            kind=kind,
            n_rows=n_rows,
            size_bytes=size_bytes,
            sha256=sha256,
            created_at=created_at,
        )

        dataset.additional_properties = d
        return dataset

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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DataSpec")


@_attrs_define
class DataSpec:
    """The inference task. ``task`` is a builtin dataset name or ``upload:<id>``.

    Attributes:
        task (str | Unset): Builtin task (sentiment, topic, translation_en_fr) or upload:<dataset id>. Default:
            'sentiment'.
    """

    task: str | Unset = "sentiment"

    def to_dict(self) -> dict[str, Any]:
        task = self.task

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if task is not UNSET:
            field_dict["task"] = task

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        task = d.pop("task", UNSET)

        data_spec = cls(
            task=task,
        )

        return data_spec

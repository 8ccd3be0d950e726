from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ResultsLayerValues")


@_attrs_define
class ResultsLayerValues:
    """
    Attributes:
        value (list[float | None]):
    """

    value: list[float | None]

    def to_dict(self) -> dict[str, Any]:
        value = []
        for value_item_data in self.value:
            value_item: float | None
            value_item = value_item_data
            value.append(value_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "value": value,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        value = []
        _value = d.pop("value")
        for value_item_data in _value:

            def _parse_value_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            value_item = _parse_value_item(value_item_data)

            value.append(value_item)

        results_layer_values = cls(
            value=value,
        )

        return results_layer_values

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ResultsFamilyWise")


@_attrs_define
class ResultsFamilyWise:
    """
    Attributes:
        n (int):
        alpha (float):
        method (str):
        p_adjusted (list[float | None]):
        significant_layers (list[int]):
    """

    n: int
    alpha: float
    method: str
    p_adjusted: list[float | None]
    significant_layers: list[int]

    def to_dict(self) -> dict[str, Any]:
        n = self.n

        alpha = self.alpha

        method = self.method

        p_adjusted = []
        for p_adjusted_item_data in self.p_adjusted:
            p_adjusted_item: float | None
            p_adjusted_item = p_adjusted_item_data
            p_adjusted.append(p_adjusted_item)

        significant_layers = self.significant_layers

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "n": n,
                "alpha": alpha,
                "method": method,
                "p_adjusted": p_adjusted,
                "significant_layers": significant_layers,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        n = d.pop("n")

        alpha = d.pop("alpha")

        method = d.pop("method")

        p_adjusted = []
        _p_adjusted = d.pop("p_adjusted")
        for p_adjusted_item_data in _p_adjusted:

            def _parse_p_adjusted_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            p_adjusted_item = _parse_p_adjusted_item(p_adjusted_item_data)

            p_adjusted.append(p_adjusted_item)

        significant_layers = cast(list[int], d.pop("significant_layers"))

        results_family_wise = cls(
            n=n,
            alpha=alpha,
            method=method,
            p_adjusted=p_adjusted,
            significant_layers=significant_layers,
        )

        return results_family_wise

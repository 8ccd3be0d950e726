from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ResultsLayerStats")


@_attrs_define
class ResultsLayerStats:
    """
    Attributes:
        mean (list[float | None]):
        std (list[float | None]):
        ci_low (list[float | None]):
        ci_high (list[float | None]):
        n (list[int]):
    """

    mean: list[float | None]
    std: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]
    n: list[int]

    def to_dict(self) -> dict[str, Any]:
        mean = []
        for mean_item_data in self.mean:
            mean_item: float | None
            mean_item = mean_item_data
            mean.append(mean_item)

        std = []
        for std_item_data in self.std:
            std_item: float | None
            std_item = std_item_data
            std.append(std_item)

        ci_low = []
        for ci_low_item_data in self.ci_low:
            ci_low_item: float | None
            ci_low_item = ci_low_item_data
            ci_low.append(ci_low_item)

        ci_high = []
        for ci_high_item_data in self.ci_high:
            ci_high_item: float | None
            ci_high_item = ci_high_item_data
            ci_high.append(ci_high_item)

        n = self.n

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "mean": mean,
                "std": std,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "n": n,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        mean = []
        _mean = d.pop("mean")
        for mean_item_data in _mean:

            def _parse_mean_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            mean_item = _parse_mean_item(mean_item_data)

            mean.append(mean_item)

        std = []
        _std = d.pop("std")
        for std_item_data in _std:

            def _parse_std_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            std_item = _parse_std_item(std_item_data)

            std.append(std_item)

        ci_low = []
        _ci_low = d.pop("ci_low")
        for ci_low_item_data in _ci_low:

            def _parse_ci_low_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            ci_low_item = _parse_ci_low_item(ci_low_item_data)

            ci_low.append(ci_low_item)

        ci_high = []
        _ci_high = d.pop("ci_high")
        for ci_high_item_data in _ci_high:

            def _parse_ci_high_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            ci_high_item = _parse_ci_high_item(ci_high_item_data)

            ci_high.append(ci_high_item)

        n = cast(list[int], d.pop("n"))

        results_layer_stats = cls(
            mean=mean,
            std=std,
            ci_low=ci_low,
            ci_high=ci_high,
            n=n,
        )

        return results_layer_stats

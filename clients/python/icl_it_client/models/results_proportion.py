from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ResultsProportion")


@_attrs_define
class ResultsProportion:
    """
    Attributes:
        mean (float | None):
        ci_low (float | None):
        ci_high (float | None):
        n (int):
    """

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        mean: float | None
        mean = self.mean

        ci_low: float | None
        ci_low = self.ci_low

        ci_high: float | None
        ci_high = self.ci_high

        n = self.n

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "mean": mean,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "n": n,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_mean(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean = _parse_mean(d.pop("mean"))

        def _parse_ci_low(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ci_low = _parse_ci_low(d.pop("ci_low"))

        def _parse_ci_high(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ci_high = _parse_ci_high(d.pop("ci_high"))

        n = d.pop("n")

        results_proportion = cls(
            mean=mean,
            ci_low=ci_low,
            ci_high=ci_high,
            n=n,
        )

        return results_proportion

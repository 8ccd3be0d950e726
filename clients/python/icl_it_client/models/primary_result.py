from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PrimaryResult")


@_attrs_define
class PrimaryResult:
    """The headline of a finished experiment: its first study's primary test (matched −
    mismatched shift cosine, tested by permuting the pairing), from its results document.

        Attributes:
            study (str):
            measure (str): What ``effect`` measures (a minus b, and the metric).
            layer (int): The report layer the test is at.
            effect (float): Mean difference a − b over inference examples.
            ci_low (float | None):
            ci_high (float | None):
            p_value (float): The test's own p (pairing permutation).
            p_holm (float | None): Holm-adjusted over the experiment's primary tests (what verdicts use).
            significant (bool):
            n (int): Inference examples.
    """

    study: str
    measure: str
    layer: int
    effect: float
    ci_low: float | None
    ci_high: float | None
    p_value: float
    p_holm: float | None
    significant: bool
    n: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        study = self.study

        measure = self.measure

        layer = self.layer

        effect = self.effect

        ci_low: float | None
        ci_low = self.ci_low

        ci_high: float | None
        ci_high = self.ci_high

        p_value = self.p_value

        p_holm: float | None
        p_holm = self.p_holm

        significant = self.significant

        n = self.n

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "study": study,
                "measure": measure,
                "layer": layer,
                "effect": effect,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "p_value": p_value,
                "p_holm": p_holm,
                "significant": significant,
                "n": n,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        study = d.pop("study")

        measure = d.pop("measure")

        layer = d.pop("layer")

        effect = d.pop("effect")

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

        p_value = d.pop("p_value")

        def _parse_p_holm(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        p_holm = _parse_p_holm(d.pop("p_holm"))

        significant = d.pop("significant")

        n = d.pop("n")

        primary_result = cls(
            study=study,
            measure=measure,
            layer=layer,
            effect=effect,
            ci_low=ci_low,
            ci_high=ci_high,
            p_value=p_value,
            p_holm=p_holm,
            significant=significant,
            n=n,
        )

        primary_result.additional_properties = d
        return primary_result

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.results_study_tests_item_a import ResultsStudyTestsItemA
from ..models.results_study_tests_item_b import ResultsStudyTestsItemB
from ..models.results_study_tests_item_metric import ResultsStudyTestsItemMetric
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_slice import ResultsSlice


T = TypeVar("T", bound="ResultsStudyTestsItem")


@_attrs_define
class ResultsStudyTestsItem:
    """
    Attributes:
        n (int):
        mean_a (float | None):
        mean_b (float | None):
        mean_diff (float | None):
        ci_low (float | None):
        ci_high (float | None):
        p_value (float | None):
        method (str):
        alpha (float):
        significant (bool):
        min_attainable_p (float | None):
        metric (ResultsStudyTestsItemMetric):
        cell (str):
        slice_ (ResultsSlice): Values of the study's other swept fields.
        layer (int):
        a (ResultsStudyTestsItemA):
        b (ResultsStudyTestsItemB):
        mde (float | None | Unset): Minimum detectable effect: the smallest true difference this test detects with 80%
            power at its alpha (null when no result of this n can reach alpha).
    """

    n: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str
    alpha: float
    significant: bool
    min_attainable_p: float | None
    metric: ResultsStudyTestsItemMetric
    cell: str
    slice_: ResultsSlice
    layer: int
    a: ResultsStudyTestsItemA
    b: ResultsStudyTestsItemB
    mde: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        n = self.n

        mean_a: float | None
        mean_a = self.mean_a

        mean_b: float | None
        mean_b = self.mean_b

        mean_diff: float | None
        mean_diff = self.mean_diff

        ci_low: float | None
        ci_low = self.ci_low

        ci_high: float | None
        ci_high = self.ci_high

        p_value: float | None
        p_value = self.p_value

        method = self.method

        alpha = self.alpha

        significant = self.significant

        min_attainable_p: float | None
        min_attainable_p = self.min_attainable_p

        metric = self.metric.value

        cell = self.cell

        slice_ = self.slice_.to_dict()

        layer = self.layer

        a = self.a.value

        b = self.b.value

        mde: float | None | Unset
        if isinstance(self.mde, Unset):
            mde = UNSET
        else:
            mde = self.mde

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "n": n,
                "mean_a": mean_a,
                "mean_b": mean_b,
                "mean_diff": mean_diff,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "p_value": p_value,
                "method": method,
                "alpha": alpha,
                "significant": significant,
                "min_attainable_p": min_attainable_p,
                "metric": metric,
                "cell": cell,
                "slice": slice_,
                "layer": layer,
                "a": a,
                "b": b,
            }
        )
        if mde is not UNSET:
            field_dict["mde"] = mde

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_slice import ResultsSlice  # noqa: PLC0415

        d = dict(src_dict)
        n = d.pop("n")

        def _parse_mean_a(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_a = _parse_mean_a(d.pop("mean_a"))

        def _parse_mean_b(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_b = _parse_mean_b(d.pop("mean_b"))

        def _parse_mean_diff(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_diff = _parse_mean_diff(d.pop("mean_diff"))

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

        def _parse_p_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        p_value = _parse_p_value(d.pop("p_value"))

        method = d.pop("method")

        alpha = d.pop("alpha")

        significant = d.pop("significant")

        def _parse_min_attainable_p(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        min_attainable_p = _parse_min_attainable_p(d.pop("min_attainable_p"))

        metric = ResultsStudyTestsItemMetric(d.pop("metric"))

        cell = d.pop("cell")

        slice_ = ResultsSlice.from_dict(d.pop("slice"))

        layer = d.pop("layer")

        a = ResultsStudyTestsItemA(d.pop("a"))

        b = ResultsStudyTestsItemB(d.pop("b"))

        def _parse_mde(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mde = _parse_mde(d.pop("mde", UNSET))

        results_study_tests_item = cls(
            n=n,
            mean_a=mean_a,
            mean_b=mean_b,
            mean_diff=mean_diff,
            ci_low=ci_low,
            ci_high=ci_high,
            p_value=p_value,
            method=method,
            alpha=alpha,
            significant=significant,
            min_attainable_p=min_attainable_p,
            metric=metric,
            cell=cell,
            slice_=slice_,
            layer=layer,
            a=a,
            b=b,
            mde=mde,
        )

        results_study_tests_item.additional_properties = d
        return results_study_tests_item

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

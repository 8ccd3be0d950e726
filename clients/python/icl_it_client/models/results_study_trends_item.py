from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.results_study_trends_item_metric import ResultsStudyTrendsItemMetric
from ..models.results_study_trends_item_pair import ResultsStudyTrendsItemPair
from ..models.results_trend_test_open_direction import ResultsTrendTestOpenDirection
from ..models.results_trend_test_open_kind import ResultsTrendTestOpenKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_slice import ResultsSlice


T = TypeVar("T", bound="ResultsStudyTrendsItem")


@_attrs_define
class ResultsStudyTrendsItem:
    """
    Attributes:
        levels (list[Any]):
        level_means (list[float | None]):
        n (int):
        n_blocks (int | None):
        blocked (bool):
        alpha (float):
        kind (ResultsTrendTestOpenKind):
        statistic (float | None):
        slope (float | None):
        direction (ResultsTrendTestOpenDirection):
        p_value (float | None):
        method (str):
        significant (bool):
        metric (ResultsStudyTrendsItemMetric):
        pair (ResultsStudyTrendsItemPair): matched-mismatched: the primary difference per example;
            demonstration_specific: its own − cross adapter part per example (input i's shift cosine with its own adapter's
            shift minus the mean over the other adapters of its group); otherwise an ICL–IT pair of a paper metric.
        factor (str):
        slice_ (ResultsSlice): Values of the study's other swept fields.
        mde (float | None | Unset): The smallest linear trend, in the units of slope, the test detects with power 0.8
            (approximately: the linear contrast's z-test divided by the square root of the rank test's efficiency;
            trends.linear_mde); null for unordered levels. Absent in results written before it.
        mde_method (str | Unset): How mde was computed, or why there is none.
    """

    levels: list[Any]
    level_means: list[float | None]
    n: int
    n_blocks: int | None
    blocked: bool
    alpha: float
    kind: ResultsTrendTestOpenKind
    statistic: float | None
    slope: float | None
    direction: ResultsTrendTestOpenDirection
    p_value: float | None
    method: str
    significant: bool
    metric: ResultsStudyTrendsItemMetric
    pair: ResultsStudyTrendsItemPair
    factor: str
    slice_: ResultsSlice
    mde: float | None | Unset = UNSET
    mde_method: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        levels = self.levels

        level_means = []
        for level_means_item_data in self.level_means:
            level_means_item: float | None
            level_means_item = level_means_item_data
            level_means.append(level_means_item)

        n = self.n

        n_blocks: int | None
        n_blocks = self.n_blocks

        blocked = self.blocked

        alpha = self.alpha

        kind = self.kind.value

        statistic: float | None
        statistic = self.statistic

        slope: float | None
        slope = self.slope

        direction = self.direction.value

        p_value: float | None
        p_value = self.p_value

        method = self.method

        significant = self.significant

        metric = self.metric.value

        pair = self.pair.value

        factor = self.factor

        slice_ = self.slice_.to_dict()

        mde: float | None | Unset
        if isinstance(self.mde, Unset):
            mde = UNSET
        else:
            mde = self.mde

        mde_method = self.mde_method

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "levels": levels,
                "level_means": level_means,
                "n": n,
                "n_blocks": n_blocks,
                "blocked": blocked,
                "alpha": alpha,
                "kind": kind,
                "statistic": statistic,
                "slope": slope,
                "direction": direction,
                "p_value": p_value,
                "method": method,
                "significant": significant,
                "metric": metric,
                "pair": pair,
                "factor": factor,
                "slice": slice_,
            }
        )
        if mde is not UNSET:
            field_dict["mde"] = mde
        if mde_method is not UNSET:
            field_dict["mde_method"] = mde_method

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_slice import ResultsSlice  # noqa: PLC0415

        d = dict(src_dict)
        levels = cast(list[Any], d.pop("levels"))

        level_means = []
        _level_means = d.pop("level_means")
        for level_means_item_data in _level_means:

            def _parse_level_means_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            level_means_item = _parse_level_means_item(level_means_item_data)

            level_means.append(level_means_item)

        n = d.pop("n")

        def _parse_n_blocks(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        n_blocks = _parse_n_blocks(d.pop("n_blocks"))

        blocked = d.pop("blocked")

        alpha = d.pop("alpha")

        kind = ResultsTrendTestOpenKind(d.pop("kind"))

        def _parse_statistic(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        statistic = _parse_statistic(d.pop("statistic"))

        def _parse_slope(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        slope = _parse_slope(d.pop("slope"))

        direction = ResultsTrendTestOpenDirection(d.pop("direction"))

        def _parse_p_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        p_value = _parse_p_value(d.pop("p_value"))

        method = d.pop("method")

        significant = d.pop("significant")

        metric = ResultsStudyTrendsItemMetric(d.pop("metric"))

        pair = ResultsStudyTrendsItemPair(d.pop("pair"))

        factor = d.pop("factor")

        slice_ = ResultsSlice.from_dict(d.pop("slice"))

        def _parse_mde(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mde = _parse_mde(d.pop("mde", UNSET))

        mde_method = d.pop("mde_method", UNSET)

        results_study_trends_item = cls(
            levels=levels,
            level_means=level_means,
            n=n,
            n_blocks=n_blocks,
            blocked=blocked,
            alpha=alpha,
            kind=kind,
            statistic=statistic,
            slope=slope,
            direction=direction,
            p_value=p_value,
            method=method,
            significant=significant,
            metric=metric,
            pair=pair,
            factor=factor,
            slice_=slice_,
            mde=mde,
            mde_method=mde_method,
        )

        results_study_trends_item.additional_properties = d
        return results_study_trends_item

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

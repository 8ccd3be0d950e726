from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.results_point_stats import ResultsPointStats


T = TypeVar("T", bound="ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt")


@_attrs_define
class ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt:
    """
    Attributes:
        random_init (ResultsPointStats):
        real (None | ResultsPointStats):
    """

    random_init: ResultsPointStats
    real: None | ResultsPointStats

    def to_dict(self) -> dict[str, Any]:
        from ..models.results_point_stats import ResultsPointStats  # noqa: PLC0415

        random_init = self.random_init.to_dict()

        real: dict[str, Any] | None
        if isinstance(self.real, ResultsPointStats):
            real = self.real.to_dict()
        else:
            real = self.real

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "random_init": random_init,
                "real": real,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_point_stats import ResultsPointStats  # noqa: PLC0415

        d = dict(src_dict)
        random_init = ResultsPointStats.from_dict(d.pop("random_init"))

        def _parse_real(data: object) -> None | ResultsPointStats:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                real_type_0 = ResultsPointStats.from_dict(data)

                return real_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsPointStats, data)

        real = _parse_real(d.pop("real"))

        results_controls_random_init_item_metrics_additional_property_anchor_it = cls(
            random_init=random_init,
            real=real,
        )

        return results_controls_random_init_item_metrics_additional_property_anchor_it

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_controls_random_init_item_metrics_additional_property_anchor_icl import (
        ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl,
    )
    from ..models.results_controls_random_init_item_metrics_additional_property_anchor_it import (
        ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt,
    )
    from ..models.results_controls_random_init_item_metrics_additional_property_icl_it import (
        ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt,
    )
    from ..models.results_paired_test import ResultsPairedTest


T = TypeVar("T", bound="ResultsControlsRandomInitItemMetricsAdditionalProperty")


@_attrs_define
class ResultsControlsRandomInitItemMetricsAdditionalProperty:
    """
    Attributes:
        test_icl_it_real_vs_random (ResultsPairedTest | Unset):
        icl_it (ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt | Unset):
        anchor_icl (ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl | Unset):
        anchor_it (ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt | Unset):
    """

    test_icl_it_real_vs_random: ResultsPairedTest | Unset = UNSET
    icl_it: ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt | Unset = UNSET
    anchor_icl: ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl | Unset = UNSET
    anchor_it: ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        test_icl_it_real_vs_random: dict[str, Any] | Unset = UNSET
        if not isinstance(self.test_icl_it_real_vs_random, Unset):
            test_icl_it_real_vs_random = self.test_icl_it_real_vs_random.to_dict()

        icl_it: dict[str, Any] | Unset = UNSET
        if not isinstance(self.icl_it, Unset):
            icl_it = self.icl_it.to_dict()

        anchor_icl: dict[str, Any] | Unset = UNSET
        if not isinstance(self.anchor_icl, Unset):
            anchor_icl = self.anchor_icl.to_dict()

        anchor_it: dict[str, Any] | Unset = UNSET
        if not isinstance(self.anchor_it, Unset):
            anchor_it = self.anchor_it.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if test_icl_it_real_vs_random is not UNSET:
            field_dict["test_icl_it_real_vs_random"] = test_icl_it_real_vs_random
        if icl_it is not UNSET:
            field_dict["icl_it"] = icl_it
        if anchor_icl is not UNSET:
            field_dict["anchor_icl"] = anchor_icl
        if anchor_it is not UNSET:
            field_dict["anchor_it"] = anchor_it

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_controls_random_init_item_metrics_additional_property_anchor_icl import (
            ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl,  # noqa: PLC0415
        )
        from ..models.results_controls_random_init_item_metrics_additional_property_anchor_it import (
            ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt,  # noqa: PLC0415
        )
        from ..models.results_controls_random_init_item_metrics_additional_property_icl_it import (
            ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt,  # noqa: PLC0415
        )
        from ..models.results_paired_test import ResultsPairedTest  # noqa: PLC0415

        d = dict(src_dict)
        _test_icl_it_real_vs_random = d.pop("test_icl_it_real_vs_random", UNSET)
        test_icl_it_real_vs_random: ResultsPairedTest | Unset
        if isinstance(_test_icl_it_real_vs_random, Unset):
            test_icl_it_real_vs_random = UNSET
        else:
            test_icl_it_real_vs_random = ResultsPairedTest.from_dict(_test_icl_it_real_vs_random)

        _icl_it = d.pop("icl_it", UNSET)
        icl_it: ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt | Unset
        if isinstance(_icl_it, Unset):
            icl_it = UNSET
        else:
            icl_it = ResultsControlsRandomInitItemMetricsAdditionalPropertyIclIt.from_dict(_icl_it)

        _anchor_icl = d.pop("anchor_icl", UNSET)
        anchor_icl: ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl | Unset
        if isinstance(_anchor_icl, Unset):
            anchor_icl = UNSET
        else:
            anchor_icl = ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIcl.from_dict(_anchor_icl)

        _anchor_it = d.pop("anchor_it", UNSET)
        anchor_it: ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt | Unset
        if isinstance(_anchor_it, Unset):
            anchor_it = UNSET
        else:
            anchor_it = ResultsControlsRandomInitItemMetricsAdditionalPropertyAnchorIt.from_dict(_anchor_it)

        results_controls_random_init_item_metrics_additional_property = cls(
            test_icl_it_real_vs_random=test_icl_it_real_vs_random,
            icl_it=icl_it,
            anchor_icl=anchor_icl,
            anchor_it=anchor_it,
        )

        return results_controls_random_init_item_metrics_additional_property

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.results_layer_stats import ResultsLayerStats


T = TypeVar("T", bound="ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter")


@_attrs_define
class ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter:
    """
    Attributes:
        accuracy (ResultsLayerStats):
        label_mass (ResultsLayerStats):
        kl_icl (ResultsLayerStats):
        kl_it (ResultsLayerStats):
    """

    accuracy: ResultsLayerStats
    label_mass: ResultsLayerStats
    kl_icl: ResultsLayerStats
    kl_it: ResultsLayerStats

    def to_dict(self) -> dict[str, Any]:
        accuracy = self.accuracy.to_dict()

        label_mass = self.label_mass.to_dict()

        kl_icl = self.kl_icl.to_dict()

        kl_it = self.kl_it.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "accuracy": accuracy,
                "label_mass": label_mass,
                "kl_icl": kl_icl,
                "kl_it": kl_it,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_layer_stats import ResultsLayerStats  # noqa: PLC0415

        d = dict(src_dict)
        accuracy = ResultsLayerStats.from_dict(d.pop("accuracy"))

        label_mass = ResultsLayerStats.from_dict(d.pop("label_mass"))

        kl_icl = ResultsLayerStats.from_dict(d.pop("kl_icl"))

        kl_it = ResultsLayerStats.from_dict(d.pop("kl_it"))

        results_causal_check_patched_additional_property_cross_adapter = cls(
            accuracy=accuracy,
            label_mass=label_mass,
            kl_icl=kl_icl,
            kl_it=kl_it,
        )

        return results_causal_check_patched_additional_property_cross_adapter

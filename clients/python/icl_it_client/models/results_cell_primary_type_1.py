from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_family_wise import ResultsFamilyWise
    from ..models.results_layer_stats import ResultsLayerStats
    from ..models.results_paired_test import ResultsPairedTest


T = TypeVar("T", bound="ResultsCellPrimaryType1")


@_attrs_define
class ResultsCellPrimaryType1:
    """
    Attributes:
        measure (str):
        layer (int):
        test (ResultsPairedTest):
        test_last_block (ResultsPairedTest):
        difference (ResultsLayerStats):
        family_wise (ResultsFamilyWise):
        last_block_layer (int | Unset):
    """

    measure: str
    layer: int
    test: ResultsPairedTest
    test_last_block: ResultsPairedTest
    difference: ResultsLayerStats
    family_wise: ResultsFamilyWise
    last_block_layer: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        measure = self.measure

        layer = self.layer

        test = self.test.to_dict()

        test_last_block = self.test_last_block.to_dict()

        difference = self.difference.to_dict()

        family_wise = self.family_wise.to_dict()

        last_block_layer = self.last_block_layer

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "measure": measure,
                "layer": layer,
                "test": test,
                "test_last_block": test_last_block,
                "difference": difference,
                "family_wise": family_wise,
            }
        )
        if last_block_layer is not UNSET:
            field_dict["last_block_layer"] = last_block_layer

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_family_wise import ResultsFamilyWise  # noqa: PLC0415
        from ..models.results_layer_stats import ResultsLayerStats  # noqa: PLC0415
        from ..models.results_paired_test import ResultsPairedTest  # noqa: PLC0415

        d = dict(src_dict)
        measure = d.pop("measure")

        layer = d.pop("layer")

        test = ResultsPairedTest.from_dict(d.pop("test"))

        test_last_block = ResultsPairedTest.from_dict(d.pop("test_last_block"))

        difference = ResultsLayerStats.from_dict(d.pop("difference"))

        family_wise = ResultsFamilyWise.from_dict(d.pop("family_wise"))

        last_block_layer = d.pop("last_block_layer", UNSET)

        results_cell_primary_type_1 = cls(
            measure=measure,
            layer=layer,
            test=test,
            test_last_block=test_last_block,
            difference=difference,
            family_wise=family_wise,
            last_block_layer=last_block_layer,
        )

        return results_cell_primary_type_1

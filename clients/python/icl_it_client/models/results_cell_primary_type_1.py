from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_cell_primary_type_1_decomposition_type_1 import ResultsCellPrimaryType1DecompositionType1
    from ..models.results_family_wise import ResultsFamilyWise
    from ..models.results_layer_stats import ResultsLayerStats
    from ..models.results_paired_test import ResultsPairedTest
    from ..models.results_pairing_test import ResultsPairingTest


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
        pairing_test (ResultsPairingTest | Unset): Pairing-permutation test: mean(diagonal) - mean(off-diagonal) of a
            score matrix, null from permuting the pairing within adapter groups; CI by inverting the same test (null =
            unbounded).
        decomposition (None | ResultsCellPrimaryType1DecompositionType1 | Unset): matched - mismatched =
            demonstration_specific (own - cross adapter) + input_specific (cross adapter - mismatched); null when the run
            has no cross-adapter extraction (cross_hidden).
        secondary (str | Unset):
    """

    measure: str
    layer: int
    test: ResultsPairedTest
    test_last_block: ResultsPairedTest
    difference: ResultsLayerStats
    family_wise: ResultsFamilyWise
    last_block_layer: int | Unset = UNSET
    pairing_test: ResultsPairingTest | Unset = UNSET
    decomposition: None | ResultsCellPrimaryType1DecompositionType1 | Unset = UNSET
    secondary: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.results_cell_primary_type_1_decomposition_type_1 import ResultsCellPrimaryType1DecompositionType1  # noqa: PLC0415

        measure = self.measure

        layer = self.layer

        test = self.test.to_dict()

        test_last_block = self.test_last_block.to_dict()

        difference = self.difference.to_dict()

        family_wise = self.family_wise.to_dict()

        last_block_layer = self.last_block_layer

        pairing_test: dict[str, Any] | Unset = UNSET
        if not isinstance(self.pairing_test, Unset):
            pairing_test = self.pairing_test.to_dict()

        decomposition: dict[str, Any] | None | Unset
        if isinstance(self.decomposition, Unset):
            decomposition = UNSET
        elif isinstance(self.decomposition, ResultsCellPrimaryType1DecompositionType1):
            decomposition = self.decomposition.to_dict()
        else:
            decomposition = self.decomposition

        secondary = self.secondary

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
        if pairing_test is not UNSET:
            field_dict["pairing_test"] = pairing_test
        if decomposition is not UNSET:
            field_dict["decomposition"] = decomposition
        if secondary is not UNSET:
            field_dict["secondary"] = secondary

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_cell_primary_type_1_decomposition_type_1 import ResultsCellPrimaryType1DecompositionType1  # noqa: PLC0415
        from ..models.results_family_wise import ResultsFamilyWise  # noqa: PLC0415
        from ..models.results_layer_stats import ResultsLayerStats  # noqa: PLC0415
        from ..models.results_paired_test import ResultsPairedTest  # noqa: PLC0415
        from ..models.results_pairing_test import ResultsPairingTest  # noqa: PLC0415

        d = dict(src_dict)
        measure = d.pop("measure")

        layer = d.pop("layer")

        test = ResultsPairedTest.from_dict(d.pop("test"))

        test_last_block = ResultsPairedTest.from_dict(d.pop("test_last_block"))

        difference = ResultsLayerStats.from_dict(d.pop("difference"))

        family_wise = ResultsFamilyWise.from_dict(d.pop("family_wise"))

        last_block_layer = d.pop("last_block_layer", UNSET)

        _pairing_test = d.pop("pairing_test", UNSET)
        pairing_test: ResultsPairingTest | Unset
        if isinstance(_pairing_test, Unset):
            pairing_test = UNSET
        else:
            pairing_test = ResultsPairingTest.from_dict(_pairing_test)

        def _parse_decomposition(data: object) -> None | ResultsCellPrimaryType1DecompositionType1 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                decomposition_type_1 = ResultsCellPrimaryType1DecompositionType1.from_dict(data)

                return decomposition_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsCellPrimaryType1DecompositionType1 | Unset, data)

        decomposition = _parse_decomposition(d.pop("decomposition", UNSET))

        secondary = d.pop("secondary", UNSET)

        results_cell_primary_type_1 = cls(
            measure=measure,
            layer=layer,
            test=test,
            test_last_block=test_last_block,
            difference=difference,
            family_wise=family_wise,
            last_block_layer=last_block_layer,
            pairing_test=pairing_test,
            decomposition=decomposition,
            secondary=secondary,
        )

        return results_cell_primary_type_1

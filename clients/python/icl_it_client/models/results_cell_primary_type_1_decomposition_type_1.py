from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.results_pairing_test import ResultsPairingTest


T = TypeVar("T", bound="ResultsCellPrimaryType1DecompositionType1")


@_attrs_define
class ResultsCellPrimaryType1DecompositionType1:
    """
    Attributes:
        demonstration_specific (ResultsPairingTest): Pairing-permutation test: mean(diagonal) - mean(off-diagonal) of a
            score matrix, null from permuting the pairing within adapter groups; CI by inverting the same test (null =
            unbounded).
        input_specific (ResultsPairingTest): Pairing-permutation test: mean(diagonal) - mean(off-diagonal) of a score
            matrix, null from permuting the pairing within adapter groups; CI by inverting the same test (null = unbounded).
    """

    demonstration_specific: ResultsPairingTest
    input_specific: ResultsPairingTest

    def to_dict(self) -> dict[str, Any]:
        demonstration_specific = self.demonstration_specific.to_dict()

        input_specific = self.input_specific.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "demonstration_specific": demonstration_specific,
                "input_specific": input_specific,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_pairing_test import ResultsPairingTest  # noqa: PLC0415

        d = dict(src_dict)
        demonstration_specific = ResultsPairingTest.from_dict(d.pop("demonstration_specific"))

        input_specific = ResultsPairingTest.from_dict(d.pop("input_specific"))

        results_cell_primary_type_1_decomposition_type_1 = cls(
            demonstration_specific=demonstration_specific,
            input_specific=input_specific,
        )

        return results_cell_primary_type_1_decomposition_type_1

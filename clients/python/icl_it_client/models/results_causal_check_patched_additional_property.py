from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_causal_check_patched_additional_property_cross import (
        ResultsCausalCheckPatchedAdditionalPropertyCross,
    )
    from ..models.results_causal_check_patched_additional_property_cross_adapter import (
        ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter,
    )
    from ..models.results_causal_check_patched_additional_property_own import (
        ResultsCausalCheckPatchedAdditionalPropertyOwn,
    )


T = TypeVar("T", bound="ResultsCausalCheckPatchedAdditionalProperty")


@_attrs_define
class ResultsCausalCheckPatchedAdditionalProperty:
    """
    Attributes:
        own (ResultsCausalCheckPatchedAdditionalPropertyOwn):
        cross (ResultsCausalCheckPatchedAdditionalPropertyCross | Unset):
        cross_adapter (ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter | Unset):
    """

    own: ResultsCausalCheckPatchedAdditionalPropertyOwn
    cross: ResultsCausalCheckPatchedAdditionalPropertyCross | Unset = UNSET
    cross_adapter: ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        own = self.own.to_dict()

        cross: dict[str, Any] | Unset = UNSET
        if not isinstance(self.cross, Unset):
            cross = self.cross.to_dict()

        cross_adapter: dict[str, Any] | Unset = UNSET
        if not isinstance(self.cross_adapter, Unset):
            cross_adapter = self.cross_adapter.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "own": own,
            }
        )
        if cross is not UNSET:
            field_dict["cross"] = cross
        if cross_adapter is not UNSET:
            field_dict["cross_adapter"] = cross_adapter

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_causal_check_patched_additional_property_cross import (
            ResultsCausalCheckPatchedAdditionalPropertyCross,  # noqa: PLC0415
        )
        from ..models.results_causal_check_patched_additional_property_cross_adapter import (
            ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter,  # noqa: PLC0415
        )
        from ..models.results_causal_check_patched_additional_property_own import (
            ResultsCausalCheckPatchedAdditionalPropertyOwn,  # noqa: PLC0415
        )

        d = dict(src_dict)
        own = ResultsCausalCheckPatchedAdditionalPropertyOwn.from_dict(d.pop("own"))

        _cross = d.pop("cross", UNSET)
        cross: ResultsCausalCheckPatchedAdditionalPropertyCross | Unset
        if isinstance(_cross, Unset):
            cross = UNSET
        else:
            cross = ResultsCausalCheckPatchedAdditionalPropertyCross.from_dict(_cross)

        _cross_adapter = d.pop("cross_adapter", UNSET)
        cross_adapter: ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter | Unset
        if isinstance(_cross_adapter, Unset):
            cross_adapter = UNSET
        else:
            cross_adapter = ResultsCausalCheckPatchedAdditionalPropertyCrossAdapter.from_dict(_cross_adapter)

        results_causal_check_patched_additional_property = cls(
            own=own,
            cross=cross,
            cross_adapter=cross_adapter,
        )

        return results_causal_check_patched_additional_property

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CausalSpec")


@_attrs_define
class CausalSpec:
    """The task-vector check (Hendel et al. 2023; Todd et al. 2024): add example i's ICL
    shift, and separately its IT shift, to the zero-shot pass of the base model at one
    decoder block's output (last token), and compare the output distribution with ICL's and
    IT's. Off by default: it costs 2 x (1 + cross) patched rows per example and patched
    layer (plus up to ``cross`` with the cross_adapter control), each a one-token
    continuation of the example's prompt, which runs once.

        Attributes:
            enabled (bool | Unset): Run the task-vector check (activation patching). Default: False.
            layers (list[int] | None | Unset): Decoder blocks (1..n_layers) whose output gets the shift; None = the blocks
                at 1/4, 1/2 and 3/4 depth and the last block. Blocks beyond the model's depth are skipped and recorded.
            cross (int | Unset): Other examples' shifts patched into each example's pass (the cross version): examples i+1
                .. i+cross (mod n). With the cross_adapter control, also the example's own IT shift through up to this many
                other examples' adapters (the demonstration-specific version: same input, other demonstrations). Default: 4.
    """

    enabled: bool | Unset = False
    layers: list[int] | None | Unset = UNSET
    cross: int | Unset = 4

    def to_dict(self) -> dict[str, Any]:
        enabled = self.enabled

        layers: list[int] | None | Unset
        if isinstance(self.layers, Unset):
            layers = UNSET
        elif isinstance(self.layers, list):
            layers = self.layers

        else:
            layers = self.layers

        cross = self.cross

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if layers is not UNSET:
            field_dict["layers"] = layers
        if cross is not UNSET:
            field_dict["cross"] = cross

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        enabled = d.pop("enabled", UNSET)

        def _parse_layers(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                layers_type_0 = cast(list[int], data)

                return layers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        layers = _parse_layers(d.pop("layers", UNSET))

        cross = d.pop("cross", UNSET)

        causal_spec = cls(
            enabled=enabled,
            layers=layers,
            cross=cross,
        )

        return causal_spec

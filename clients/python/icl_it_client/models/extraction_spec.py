from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ExtractionSpec")


@_attrs_define
class ExtractionSpec:
    """Which hidden states are kept: the last prompt token's, at every layer (the only choice).

    Attributes:
        position (Literal['last_prompt_token'] | Unset):  Default: 'last_prompt_token'.
        layers (Literal['all'] | Unset): Embeddings (layer 0) and the output of every decoder block. Default: 'all'.
    """

    position: Literal["last_prompt_token"] | Unset = "last_prompt_token"
    layers: Literal["all"] | Unset = "all"

    def to_dict(self) -> dict[str, Any]:
        position = self.position

        layers = self.layers

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if position is not UNSET:
            field_dict["position"] = position
        if layers is not UNSET:
            field_dict["layers"] = layers

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        position = cast(Literal["last_prompt_token"] | Unset, d.pop("position", UNSET))
        if position != "last_prompt_token" and not isinstance(position, Unset):
            raise ValueError(f"position must match const 'last_prompt_token', got '{position}'")

        layers = cast(Literal["all"] | Unset, d.pop("layers", UNSET))
        if layers != "all" and not isinstance(layers, Unset):
            raise ValueError(f"layers must match const 'all', got '{layers}'")

        extraction_spec = cls(
            position=position,
            layers=layers,
        )

        return extraction_spec

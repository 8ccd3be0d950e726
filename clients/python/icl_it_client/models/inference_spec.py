from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="InferenceSpec")


@_attrs_define
class InferenceSpec:
    """Which inference examples (anchors) are used.

    Attributes:
        n (int | Unset): Number of examples. Default: 8.
        seed (int | Unset): Seed for sampling the inference examples. Default: 0.
        indices (list[int] | None | Unset): Explicit row indices into the task dataset; overrides n and seed.
    """

    n: int | Unset = 8
    seed: int | Unset = 0
    indices: list[int] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        n = self.n

        seed = self.seed

        indices: list[int] | None | Unset
        if isinstance(self.indices, Unset):
            indices = UNSET
        elif isinstance(self.indices, list):
            indices = self.indices

        else:
            indices = self.indices

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if n is not UNSET:
            field_dict["n"] = n
        if seed is not UNSET:
            field_dict["seed"] = seed
        if indices is not UNSET:
            field_dict["indices"] = indices

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        n = d.pop("n", UNSET)

        seed = d.pop("seed", UNSET)

        def _parse_indices(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                indices_type_0 = cast(list[int], data)

                return indices_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        indices = _parse_indices(d.pop("indices", UNSET))

        inference_spec = cls(
            n=n,
            seed=seed,
            indices=indices,
        )

        return inference_spec

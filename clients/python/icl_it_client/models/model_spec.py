from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.model_spec_dtype import ModelSpecDtype
from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelSpec")


@_attrs_define
class ModelSpec:
    """Which causal LM to load. ``name`` is a known short name (see ``GET /v1/models``),
    a Hugging Face model id, or a local directory the server is allowed to read.

        Attributes:
            name (str | Unset): Known short name (e.g. smollm2-135m, llama-2-7b, llama-2-7b-chat), a Hugging Face id
                (org/name) or an allowed local directory. Default: 'smollm2-135m'.
            revision (None | str | Unset): Hub revision: a branch, tag or commit (no '..', no leading '/').
            dtype (ModelSpecDtype | Unset): Compute precision. bfloat16/float16 = mixed precision: Linear weights and
                matmuls in that dtype (autocast); embeddings, norms, LoRA weights, optimiser state and the loss in float32;
                hidden states are stored in float32 always. float16 runs on CUDA only. auto = bfloat16 on CUDA with bf16
                support, float32 elsewhere (CPUs too, even with AMX/AVX512-BF16: see bench/NOTES.md, Precision). Default:
                ModelSpecDtype.AUTO.
    """

    name: str | Unset = "smollm2-135m"
    revision: None | str | Unset = UNSET
    dtype: ModelSpecDtype | Unset = ModelSpecDtype.AUTO

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        revision: None | str | Unset
        if isinstance(self.revision, Unset):
            revision = UNSET
        else:
            revision = self.revision

        dtype: str | Unset = UNSET
        if not isinstance(self.dtype, Unset):
            dtype = self.dtype.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if revision is not UNSET:
            field_dict["revision"] = revision
        if dtype is not UNSET:
            field_dict["dtype"] = dtype

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        def _parse_revision(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        revision = _parse_revision(d.pop("revision", UNSET))

        _dtype = d.pop("dtype", UNSET)
        dtype: ModelSpecDtype | Unset
        if isinstance(_dtype, Unset):
            dtype = UNSET
        else:
            dtype = ModelSpecDtype(_dtype)

        model_spec = cls(
            name=name,
            revision=revision,
            dtype=dtype,
        )

        return model_spec

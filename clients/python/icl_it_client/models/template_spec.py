from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.template_spec_kind import TemplateSpecKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="TemplateSpec")


@_attrs_define
class TemplateSpec:
    """How prompts are written: plain text, or the model's chat template.

    Attributes:
        kind (TemplateSpecKind | Unset): plain 'Input: …\\nLabel:' text, or the model's chat template. Default:
            TemplateSpecKind.PLAIN.
    """

    kind: TemplateSpecKind | Unset = TemplateSpecKind.PLAIN

    def to_dict(self) -> dict[str, Any]:
        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if kind is not UNSET:
            field_dict["kind"] = kind

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _kind = d.pop("kind", UNSET)
        kind: TemplateSpecKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = TemplateSpecKind(_kind)

        template_spec = cls(
            kind=kind,
        )

        return template_spec

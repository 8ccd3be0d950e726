from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Model")


@_attrs_define
class Model:
    """A model from the catalog; ``hf_id`` is the Hugging Face repository it is pulled from.

    Attributes:
        name (str):
        source (str):
        hf_id (None | str):
        description (str):
        chat (bool):
        params (str):
    """

    name: str
    source: str
    hf_id: None | str
    description: str
    chat: bool
    params: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        source = self.source

        hf_id: None | str
        hf_id = self.hf_id

        description = self.description

        chat = self.chat

        params = self.params

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "source": source,
                "hf_id": hf_id,
                "description": description,
                "chat": chat,
                "params": params,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        source = d.pop("source")

        def _parse_hf_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        hf_id = _parse_hf_id(d.pop("hf_id"))

        description = d.pop("description")

        chat = d.pop("chat")

        params = d.pop("params")

        model = cls(
            name=name,
            source=source,
            hf_id=hf_id,
            description=description,
            chat=chat,
            params=params,
        )

        model.additional_properties = d
        return model

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

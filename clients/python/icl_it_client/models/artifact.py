from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.artifact_kind import ArtifactKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="Artifact")


@_attrs_define
class Artifact:
    """A downloadable file of an experiment or of one of its runs.

    Attributes:
        id (str):
        kind (ArtifactKind): The kinds of downloadable file the API lists under an experiment.
        run_id (None | str):
        media_type (str):
        size_bytes (int | None):
        sha256 (None | str):
        url (str): Download link (relative to the API root).
        shape (list[int] | None | Unset): states: [example, condition, layer, d_model].
    """

    id: str
    kind: ArtifactKind
    run_id: None | str
    media_type: str
    size_bytes: int | None
    sha256: None | str
    url: str
    shape: list[int] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind.value

        run_id: None | str
        run_id = self.run_id

        media_type = self.media_type

        size_bytes: int | None
        size_bytes = self.size_bytes

        sha256: None | str
        sha256 = self.sha256

        url = self.url

        shape: list[int] | None | Unset
        if isinstance(self.shape, Unset):
            shape = UNSET
        elif isinstance(self.shape, list):
            shape = self.shape

        else:
            shape = self.shape

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "run_id": run_id,
                "media_type": media_type,
                "size_bytes": size_bytes,
                "sha256": sha256,
                "url": url,
            }
        )
        if shape is not UNSET:
            field_dict["shape"] = shape

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        kind = ArtifactKind(d.pop("kind"))

        def _parse_run_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        run_id = _parse_run_id(d.pop("run_id"))

        media_type = d.pop("media_type")

        def _parse_size_bytes(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        size_bytes = _parse_size_bytes(d.pop("size_bytes"))

        def _parse_sha256(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sha256 = _parse_sha256(d.pop("sha256"))

        url = d.pop("url")

        def _parse_shape(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                shape_type_0 = cast(list[int], data)

                return shape_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        shape = _parse_shape(d.pop("shape", UNSET))

        artifact = cls(
            id=id,
            kind=kind,
            run_id=run_id,
            media_type=media_type,
            size_bytes=size_bytes,
            sha256=sha256,
            url=url,
            shape=shape,
        )

        artifact.additional_properties = d
        return artifact

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

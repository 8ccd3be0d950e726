from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ResultsDocumentStatementsItem")


@_attrs_define
class ResultsDocumentStatementsItem:
    """
    Attributes:
        study (str):
        kind (str):
        text (str):
    """

    study: str
    kind: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        study = self.study

        kind = self.kind

        text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "study": study,
                "kind": kind,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        study = d.pop("study")

        kind = d.pop("kind")

        text = d.pop("text")

        results_document_statements_item = cls(
            study=study,
            kind=kind,
            text=text,
        )

        return results_document_statements_item

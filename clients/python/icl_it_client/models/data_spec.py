from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DataSpec")


@_attrs_define
class DataSpec:
    """The inference task: ``task`` is a builtin dataset name or ``upload:<id>``; or
    ``hf`` names a Hugging Face dataset (``task`` is then ``hf``), read with ``datasets``
    (docs/DATA.md) through the column mapping below.

        Attributes:
            task (str | Unset): Builtin task (sentiment, topic, translation_en_fr) or upload:<dataset id>; 'hf' (set for
                you) with data.hf. Default: 'sentiment'.
            hf (None | str | Unset): A Hugging Face dataset: a Hub id (name or org/name; datasets.load_dataset, from the
                datasets cache when offline) or the absolute path of a save_to_disk directory inside ICL_IT_DATA_DIRS.
            config (None | str | Unset): The dataset's config.
            split (str | Unset): The split, with an optional slice as datasets writes it: train[:2000]. Default: 'train'.
            text_column (None | str | Unset): The text column (default: text).
            label_column (None | str | Unset): The label column (default: label).
            label_names (list[str] | None | Unset): Words of integer labels (label i -> label_names[i]); default: the
                column's ClassLabel names, else the integer's digits.
    """

    task: str | Unset = "sentiment"
    hf: None | str | Unset = UNSET
    config: None | str | Unset = UNSET
    split: str | Unset = "train"
    text_column: None | str | Unset = UNSET
    label_column: None | str | Unset = UNSET
    label_names: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        task = self.task

        hf: None | str | Unset
        if isinstance(self.hf, Unset):
            hf = UNSET
        else:
            hf = self.hf

        config: None | str | Unset
        if isinstance(self.config, Unset):
            config = UNSET
        else:
            config = self.config

        split = self.split

        text_column: None | str | Unset
        if isinstance(self.text_column, Unset):
            text_column = UNSET
        else:
            text_column = self.text_column

        label_column: None | str | Unset
        if isinstance(self.label_column, Unset):
            label_column = UNSET
        else:
            label_column = self.label_column

        label_names: list[str] | None | Unset
        if isinstance(self.label_names, Unset):
            label_names = UNSET
        elif isinstance(self.label_names, list):
            label_names = self.label_names

        else:
            label_names = self.label_names

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if task is not UNSET:
            field_dict["task"] = task
        if hf is not UNSET:
            field_dict["hf"] = hf
        if config is not UNSET:
            field_dict["config"] = config
        if split is not UNSET:
            field_dict["split"] = split
        if text_column is not UNSET:
            field_dict["text_column"] = text_column
        if label_column is not UNSET:
            field_dict["label_column"] = label_column
        if label_names is not UNSET:
            field_dict["label_names"] = label_names

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        task = d.pop("task", UNSET)

        def _parse_hf(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hf = _parse_hf(d.pop("hf", UNSET))

        def _parse_config(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        config = _parse_config(d.pop("config", UNSET))

        split = d.pop("split", UNSET)

        def _parse_text_column(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text_column = _parse_text_column(d.pop("text_column", UNSET))

        def _parse_label_column(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        label_column = _parse_label_column(d.pop("label_column", UNSET))

        def _parse_label_names(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                label_names_type_0 = cast(list[str], data)

                return label_names_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        label_names = _parse_label_names(d.pop("label_names", UNSET))

        data_spec = cls(
            task=task,
            hf=hf,
            config=config,
            split=split,
            text_column=text_column,
            label_column=label_column,
            label_names=label_names,
        )

        return data_spec

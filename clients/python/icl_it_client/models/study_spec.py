from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.study_spec_overrides import StudySpecOverrides
    from ..models.study_spec_sweep import StudySpecSweep


T = TypeVar("T", bound="StudySpec")


@_attrs_define
class StudySpec:
    """A named group of runs: a sweep over one or more factors with optional overrides.

    Attributes:
        name (str):
        description (str | Unset):  Default: ''.
        sweep (StudySpecSweep | Unset):
        overrides (StudySpecOverrides | Unset): Dotted field -> value applied before the sweep.
        factor (None | str | Unset): The field this study is about (x axis of its factor plot): one of the fields it
            sweeps.
    """

    name: str
    description: str | Unset = ""
    sweep: StudySpecSweep | Unset = UNSET
    overrides: StudySpecOverrides | Unset = UNSET
    factor: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        sweep: dict[str, Any] | Unset = UNSET
        if not isinstance(self.sweep, Unset):
            sweep = self.sweep.to_dict()

        overrides: dict[str, Any] | Unset = UNSET
        if not isinstance(self.overrides, Unset):
            overrides = self.overrides.to_dict()

        factor: None | str | Unset
        if isinstance(self.factor, Unset):
            factor = UNSET
        else:
            factor = self.factor

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if sweep is not UNSET:
            field_dict["sweep"] = sweep
        if overrides is not UNSET:
            field_dict["overrides"] = overrides
        if factor is not UNSET:
            field_dict["factor"] = factor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.study_spec_overrides import StudySpecOverrides  # noqa: PLC0415
        from ..models.study_spec_sweep import StudySpecSweep  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description", UNSET)

        _sweep = d.pop("sweep", UNSET)
        sweep: StudySpecSweep | Unset
        if isinstance(_sweep, Unset):
            sweep = UNSET
        else:
            sweep = StudySpecSweep.from_dict(_sweep)

        _overrides = d.pop("overrides", UNSET)
        overrides: StudySpecOverrides | Unset
        if isinstance(_overrides, Unset):
            overrides = UNSET
        else:
            overrides = StudySpecOverrides.from_dict(_overrides)

        def _parse_factor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        factor = _parse_factor(d.pop("factor", UNSET))

        study_spec = cls(
            name=name,
            description=description,
            sweep=sweep,
            overrides=overrides,
            factor=factor,
        )

        return study_spec

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.experiment_status import ExperimentStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_info import ErrorInfo
    from ..models.primary_result import PrimaryResult
    from ..models.progress import Progress


T = TypeVar("T", bound="ExperimentSummary")


@_attrs_define
class ExperimentSummary:
    """An experiment as listed: status, times, progress, what it runs, and its headline.

    Attributes:
        id (str):
        name (str):
        tags (list[str]): The spec's tags (filter with ?tag=).
        status (ExperimentStatus): The states of an experiment; ``cancelling`` lasts until its running work stops.
        created_at (datetime.datetime):
        started_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        progress (Progress): How far an experiment is, in runs.
        error (ErrorInfo | None):
        models (list[str] | Unset): The models it runs (model.name, then swept ones).
        cells (int | Unset): Configurations it compares (runs over seeds). Default: 0.
        primary (None | PrimaryResult | Unset): The primary test, once the experiment has results.
    """

    id: str
    name: str
    tags: list[str]
    status: ExperimentStatus
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    progress: Progress
    error: ErrorInfo | None
    models: list[str] | Unset = UNSET
    cells: int | Unset = 0
    primary: None | PrimaryResult | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_info import ErrorInfo  # noqa: PLC0415
        from ..models.primary_result import PrimaryResult  # noqa: PLC0415

        id = self.id

        name = self.name

        tags = self.tags

        status = self.status.value

        created_at = self.created_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        progress = self.progress.to_dict()

        error: dict[str, Any] | None
        if isinstance(self.error, ErrorInfo):
            error = self.error.to_dict()
        else:
            error = self.error

        models: list[str] | Unset = UNSET
        if not isinstance(self.models, Unset):
            models = self.models

        cells = self.cells

        primary: dict[str, Any] | None | Unset
        if isinstance(self.primary, Unset):
            primary = UNSET
        elif isinstance(self.primary, PrimaryResult):
            primary = self.primary.to_dict()
        else:
            primary = self.primary

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "tags": tags,
                "status": status,
                "created_at": created_at,
                "started_at": started_at,
                "finished_at": finished_at,
                "progress": progress,
                "error": error,
            }
        )
        if models is not UNSET:
            field_dict["models"] = models
        if cells is not UNSET:
            field_dict["cells"] = cells
        if primary is not UNSET:
            field_dict["primary"] = primary

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_info import ErrorInfo  # noqa: PLC0415
        from ..models.primary_result import PrimaryResult  # noqa: PLC0415
        from ..models.progress import Progress  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        tags = cast(list[str], d.pop("tags"))

        status = ExperimentStatus(d.pop("status"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        progress = Progress.from_dict(d.pop("progress"))

        def _parse_error(data: object) -> ErrorInfo | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = ErrorInfo.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ErrorInfo | None, data)

        error = _parse_error(d.pop("error"))

        models = cast(list[str], d.pop("models", UNSET))

        cells = d.pop("cells", UNSET)

        def _parse_primary(data: object) -> None | PrimaryResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                primary_type_0 = PrimaryResult.from_dict(data)

                return primary_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PrimaryResult | Unset, data)

        primary = _parse_primary(d.pop("primary", UNSET))

        experiment_summary = cls(
            id=id,
            name=name,
            tags=tags,
            status=status,
            created_at=created_at,
            started_at=started_at,
            finished_at=finished_at,
            progress=progress,
            error=error,
            models=models,
            cells=cells,
            primary=primary,
        )

        experiment_summary.additional_properties = d
        return experiment_summary

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

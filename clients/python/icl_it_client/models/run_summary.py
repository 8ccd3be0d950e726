from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus

if TYPE_CHECKING:
    from ..models.error_info import ErrorInfo
    from ..models.run_summary_factors import RunSummaryFactors


T = TypeVar("T", bound="RunSummary")


@_attrs_define
class RunSummary:
    """One run of an experiment: its configuration's factors, status and progress.

    Attributes:
        id (str):
        index (int):
        key (str): Content hash of the run's resolved configuration.
        status (RunStatus): The states of a run.
        stage (None | str):
        progress (float):
        attempts (int): Deliveries to a GPU worker (> 1 after a redelivery).
        studies (list[str]):
        factors (RunSummaryFactors): Swept field -> value at this run.
        control (str):
        seed (int):
        started_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        error (ErrorInfo | None):
    """

    id: str
    index: int
    key: str
    status: RunStatus
    stage: None | str
    progress: float
    attempts: int
    studies: list[str]
    factors: RunSummaryFactors
    control: str
    seed: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    error: ErrorInfo | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_info import ErrorInfo  # noqa: PLC0415

        id = self.id

        index = self.index

        key = self.key

        status = self.status.value

        stage: None | str
        stage = self.stage

        progress = self.progress

        attempts = self.attempts

        studies = self.studies

        factors = self.factors.to_dict()

        control = self.control

        seed = self.seed

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

        error: dict[str, Any] | None
        if isinstance(self.error, ErrorInfo):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "index": index,
                "key": key,
                "status": status,
                "stage": stage,
                "progress": progress,
                "attempts": attempts,
                "studies": studies,
                "factors": factors,
                "control": control,
                "seed": seed,
                "started_at": started_at,
                "finished_at": finished_at,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_info import ErrorInfo  # noqa: PLC0415
        from ..models.run_summary_factors import RunSummaryFactors  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        index = d.pop("index")

        key = d.pop("key")

        status = RunStatus(d.pop("status"))

        def _parse_stage(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        stage = _parse_stage(d.pop("stage"))

        progress = d.pop("progress")

        attempts = d.pop("attempts")

        studies = cast(list[str], d.pop("studies"))

        factors = RunSummaryFactors.from_dict(d.pop("factors"))

        control = d.pop("control")

        seed = d.pop("seed")

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

        run_summary = cls(
            id=id,
            index=index,
            key=key,
            status=status,
            stage=stage,
            progress=progress,
            attempts=attempts,
            studies=studies,
            factors=factors,
            control=control,
            seed=seed,
            started_at=started_at,
            finished_at=finished_at,
            error=error,
        )

        run_summary.additional_properties = d
        return run_summary

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

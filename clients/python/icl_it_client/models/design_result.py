from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.design_result_compute_pilot_type_0 import DesignResultComputePilotType0
    from ..models.design_result_compute_type_0 import DesignResultComputeType0


T = TypeVar("T", bound="DesignResult")


@_attrs_define
class DesignResult:
    """The design: n per cell, the alpha per test, the sd used and its source, the
    minimum detectable effect at that n, and the compute it takes (None without a benchmark).

        Attributes:
            n_per_cell (int):
            alpha_per_test (float):
            sd_unit (float):
            sd_source (str):
            mde_at_n (float):
            compute (DesignResultComputeType0 | None):
            notes (str):
            compute_pilot (DesignResultComputePilotType0 | None | Unset): The compute from the pilot's own stage timings
                (its controls, cross passes and patching included; on the machine that ran the pilot); None without a pilot that
                has timings.
    """

    n_per_cell: int
    alpha_per_test: float
    sd_unit: float
    sd_source: str
    mde_at_n: float
    compute: DesignResultComputeType0 | None
    notes: str
    compute_pilot: DesignResultComputePilotType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.design_result_compute_pilot_type_0 import DesignResultComputePilotType0  # noqa: PLC0415
        from ..models.design_result_compute_type_0 import DesignResultComputeType0  # noqa: PLC0415

        n_per_cell = self.n_per_cell

        alpha_per_test = self.alpha_per_test

        sd_unit = self.sd_unit

        sd_source = self.sd_source

        mde_at_n = self.mde_at_n

        compute: dict[str, Any] | None
        if isinstance(self.compute, DesignResultComputeType0):
            compute = self.compute.to_dict()
        else:
            compute = self.compute

        notes = self.notes

        compute_pilot: dict[str, Any] | None | Unset
        if isinstance(self.compute_pilot, Unset):
            compute_pilot = UNSET
        elif isinstance(self.compute_pilot, DesignResultComputePilotType0):
            compute_pilot = self.compute_pilot.to_dict()
        else:
            compute_pilot = self.compute_pilot

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "n_per_cell": n_per_cell,
                "alpha_per_test": alpha_per_test,
                "sd_unit": sd_unit,
                "sd_source": sd_source,
                "mde_at_n": mde_at_n,
                "compute": compute,
                "notes": notes,
            }
        )
        if compute_pilot is not UNSET:
            field_dict["compute_pilot"] = compute_pilot

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.design_result_compute_pilot_type_0 import DesignResultComputePilotType0  # noqa: PLC0415
        from ..models.design_result_compute_type_0 import DesignResultComputeType0  # noqa: PLC0415

        d = dict(src_dict)
        n_per_cell = d.pop("n_per_cell")

        alpha_per_test = d.pop("alpha_per_test")

        sd_unit = d.pop("sd_unit")

        sd_source = d.pop("sd_source")

        mde_at_n = d.pop("mde_at_n")

        def _parse_compute(data: object) -> DesignResultComputeType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                compute_type_0 = DesignResultComputeType0.from_dict(data)

                return compute_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DesignResultComputeType0 | None, data)

        compute = _parse_compute(d.pop("compute"))

        notes = d.pop("notes")

        def _parse_compute_pilot(data: object) -> DesignResultComputePilotType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                compute_pilot_type_0 = DesignResultComputePilotType0.from_dict(data)

                return compute_pilot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DesignResultComputePilotType0 | None | Unset, data)

        compute_pilot = _parse_compute_pilot(d.pop("compute_pilot", UNSET))

        design_result = cls(
            n_per_cell=n_per_cell,
            alpha_per_test=alpha_per_test,
            sd_unit=sd_unit,
            sd_source=sd_source,
            mde_at_n=mde_at_n,
            compute=compute,
            notes=notes,
            compute_pilot=compute_pilot,
        )

        design_result.additional_properties = d
        return design_result

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

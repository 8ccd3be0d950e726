from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.design_request_pilot_type_0 import DesignRequestPilotType0


T = TypeVar("T", bound="DesignRequest")


@_attrs_define
class DesignRequest:
    """What to detect, at which level and power; optionally a pilot's results.

    Attributes:
        effect (float | Unset): Target own − cross difference. Default: 0.02.
        alpha (float | Unset): Family-wise level. Default: 0.05.
        power (float | Unset):  Default: 0.8.
        n_tests (int | Unset): Primary tests in the Holm family (a preset's count). Default: 1.
        group_size (int | Unset): Adapters per group (m). Default: 16.
        n_cells (int | Unset): Cells the experiment runs. Default: 1.
        n_seeds (int | Unset):  Default: 1.
        sd_unit (float | None | Unset): Per-example sd of own − cross; else from the pilot.
        pilot (DesignRequestPilotType0 | None | Unset): A pilot results.json document.
    """

    effect: float | Unset = 0.02
    alpha: float | Unset = 0.05
    power: float | Unset = 0.8
    n_tests: int | Unset = 1
    group_size: int | Unset = 16
    n_cells: int | Unset = 1
    n_seeds: int | Unset = 1
    sd_unit: float | None | Unset = UNSET
    pilot: DesignRequestPilotType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.design_request_pilot_type_0 import DesignRequestPilotType0  # noqa: PLC0415

        effect = self.effect

        alpha = self.alpha

        power = self.power

        n_tests = self.n_tests

        group_size = self.group_size

        n_cells = self.n_cells

        n_seeds = self.n_seeds

        sd_unit: float | None | Unset
        if isinstance(self.sd_unit, Unset):
            sd_unit = UNSET
        else:
            sd_unit = self.sd_unit

        pilot: dict[str, Any] | None | Unset
        if isinstance(self.pilot, Unset):
            pilot = UNSET
        elif isinstance(self.pilot, DesignRequestPilotType0):
            pilot = self.pilot.to_dict()
        else:
            pilot = self.pilot

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if effect is not UNSET:
            field_dict["effect"] = effect
        if alpha is not UNSET:
            field_dict["alpha"] = alpha
        if power is not UNSET:
            field_dict["power"] = power
        if n_tests is not UNSET:
            field_dict["n_tests"] = n_tests
        if group_size is not UNSET:
            field_dict["group_size"] = group_size
        if n_cells is not UNSET:
            field_dict["n_cells"] = n_cells
        if n_seeds is not UNSET:
            field_dict["n_seeds"] = n_seeds
        if sd_unit is not UNSET:
            field_dict["sd_unit"] = sd_unit
        if pilot is not UNSET:
            field_dict["pilot"] = pilot

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.design_request_pilot_type_0 import DesignRequestPilotType0  # noqa: PLC0415

        d = dict(src_dict)
        effect = d.pop("effect", UNSET)

        alpha = d.pop("alpha", UNSET)

        power = d.pop("power", UNSET)

        n_tests = d.pop("n_tests", UNSET)

        group_size = d.pop("group_size", UNSET)

        n_cells = d.pop("n_cells", UNSET)

        n_seeds = d.pop("n_seeds", UNSET)

        def _parse_sd_unit(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        sd_unit = _parse_sd_unit(d.pop("sd_unit", UNSET))

        def _parse_pilot(data: object) -> DesignRequestPilotType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pilot_type_0 = DesignRequestPilotType0.from_dict(data)

                return pilot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DesignRequestPilotType0 | None | Unset, data)

        pilot = _parse_pilot(d.pop("pilot", UNSET))

        design_request = cls(
            effect=effect,
            alpha=alpha,
            power=power,
            n_tests=n_tests,
            group_size=group_size,
            n_cells=n_cells,
            n_seeds=n_seeds,
            sd_unit=sd_unit,
            pilot=pilot,
        )

        return design_request

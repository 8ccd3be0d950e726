from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.results_controls_identity_checks_item import ResultsControlsIdentityChecksItem
    from ..models.results_controls_random_init_item import ResultsControlsRandomInitItem


T = TypeVar("T", bound="ResultsControls")


@_attrs_define
class ResultsControls:
    """
    Attributes:
        random_init (list[ResultsControlsRandomInitItem]):
        notes (str):
        identity_checks (list[ResultsControlsIdentityChecksItem]):
    """

    random_init: list[ResultsControlsRandomInitItem]
    notes: str
    identity_checks: list[ResultsControlsIdentityChecksItem]

    def to_dict(self) -> dict[str, Any]:
        random_init = []
        for random_init_item_data in self.random_init:
            random_init_item = random_init_item_data.to_dict()
            random_init.append(random_init_item)

        notes = self.notes

        identity_checks = []
        for identity_checks_item_data in self.identity_checks:
            identity_checks_item = identity_checks_item_data.to_dict()
            identity_checks.append(identity_checks_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "random_init": random_init,
                "notes": notes,
                "identity_checks": identity_checks,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_controls_identity_checks_item import ResultsControlsIdentityChecksItem  # noqa: PLC0415
        from ..models.results_controls_random_init_item import ResultsControlsRandomInitItem  # noqa: PLC0415

        d = dict(src_dict)
        random_init = []
        _random_init = d.pop("random_init")
        for random_init_item_data in _random_init:
            random_init_item = ResultsControlsRandomInitItem.from_dict(random_init_item_data)

            random_init.append(random_init_item)

        notes = d.pop("notes")

        identity_checks = []
        _identity_checks = d.pop("identity_checks")
        for identity_checks_item_data in _identity_checks:
            identity_checks_item = ResultsControlsIdentityChecksItem.from_dict(identity_checks_item_data)

            identity_checks.append(identity_checks_item)

        results_controls = cls(
            random_init=random_init,
            notes=notes,
            identity_checks=identity_checks,
        )

        return results_controls

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.results_run_precision_type_0_compute import ResultsRunPrecisionType0Compute
from ..models.results_run_precision_type_0_requested import ResultsRunPrecisionType0Requested
from ..types import UNSET, Unset

T = TypeVar("T", bound="ResultsRunPrecisionType0")


@_attrs_define
class ResultsRunPrecisionType0:
    """The compute precision of the run's model (gpu_worker/precision.py): requested = the spec's model.dtype; compute =
    the matmul dtype; autocast = mixed precision (frozen Linear weights stored in the compute dtype, everything else
    fp32); states are always stored fp32. null for runs made before it was recorded.

        Attributes:
            requested (ResultsRunPrecisionType0Requested):
            compute (ResultsRunPrecisionType0Compute):
            autocast (bool):
            weights (str | Unset):
            trainable (str | Unset):
            states (Literal['float32'] | Unset):
            bf16_units (list[str] | Unset):
            reason (str | Unset):
    """

    requested: ResultsRunPrecisionType0Requested
    compute: ResultsRunPrecisionType0Compute
    autocast: bool
    weights: str | Unset = UNSET
    trainable: str | Unset = UNSET
    states: Literal["float32"] | Unset = UNSET
    bf16_units: list[str] | Unset = UNSET
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        requested = self.requested.value

        compute = self.compute.value

        autocast = self.autocast

        weights = self.weights

        trainable = self.trainable

        states = self.states

        bf16_units: list[str] | Unset = UNSET
        if not isinstance(self.bf16_units, Unset):
            bf16_units = self.bf16_units

        reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "requested": requested,
                "compute": compute,
                "autocast": autocast,
            }
        )
        if weights is not UNSET:
            field_dict["weights"] = weights
        if trainable is not UNSET:
            field_dict["trainable"] = trainable
        if states is not UNSET:
            field_dict["states"] = states
        if bf16_units is not UNSET:
            field_dict["bf16_units"] = bf16_units
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requested = ResultsRunPrecisionType0Requested(d.pop("requested"))

        compute = ResultsRunPrecisionType0Compute(d.pop("compute"))

        autocast = d.pop("autocast")

        weights = d.pop("weights", UNSET)

        trainable = d.pop("trainable", UNSET)

        states = cast(Literal["float32"] | Unset, d.pop("states", UNSET))
        if states != "float32" and not isinstance(states, Unset):
            raise ValueError(f"states must match const 'float32', got '{states}'")

        bf16_units = cast(list[str], d.pop("bf16_units", UNSET))

        reason = d.pop("reason", UNSET)

        results_run_precision_type_0 = cls(
            requested=requested,
            compute=compute,
            autocast=autocast,
            weights=weights,
            trainable=trainable,
            states=states,
            bf16_units=bf16_units,
            reason=reason,
        )

        results_run_precision_type_0.additional_properties = d
        return results_run_precision_type_0

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

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.results_run_control import ResultsRunControl
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_factors import ResultsFactors
    from ..models.results_run_accuracy import ResultsRunAccuracy
    from ..models.results_run_it_type_0 import ResultsRunItType0
    from ..models.results_run_metrics import ResultsRunMetrics
    from ..models.results_run_precision_type_0 import ResultsRunPrecisionType0


T = TypeVar("T", bound="ResultsRun")


@_attrs_define
class ResultsRun:
    """
    Attributes:
        key (str):
        cell (str):
        studies (list[str]):
        factors (ResultsFactors): Swept dotted field -> value.
        control (ResultsRunControl):
        seed (int | None):
        n_examples (int):
        n_layers (int):
        conditions (list[str]):
        metrics (ResultsRunMetrics):
        accuracy (ResultsRunAccuracy):
        it (None | ResultsRunItType0 | Unset):
        precision (None | ResultsRunPrecisionType0 | Unset): The compute precision of the run's model
            (gpu_worker/precision.py): requested = the spec's model.dtype; compute = the matmul dtype; autocast = mixed
            precision (frozen Linear weights stored in the compute dtype, everything else fp32); states are always stored
            fp32. null for runs made before it was recorded.
    """

    key: str
    cell: str
    studies: list[str]
    factors: ResultsFactors
    control: ResultsRunControl
    seed: int | None
    n_examples: int
    n_layers: int
    conditions: list[str]
    metrics: ResultsRunMetrics
    accuracy: ResultsRunAccuracy
    it: None | ResultsRunItType0 | Unset = UNSET
    precision: None | ResultsRunPrecisionType0 | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.results_run_it_type_0 import ResultsRunItType0  # noqa: PLC0415
        from ..models.results_run_precision_type_0 import ResultsRunPrecisionType0  # noqa: PLC0415

        key = self.key

        cell = self.cell

        studies = self.studies

        factors = self.factors.to_dict()

        control = self.control.value

        seed: int | None
        seed = self.seed

        n_examples = self.n_examples

        n_layers = self.n_layers

        conditions = self.conditions

        metrics = self.metrics.to_dict()

        accuracy = self.accuracy.to_dict()

        it: dict[str, Any] | None | Unset
        if isinstance(self.it, Unset):
            it = UNSET
        elif isinstance(self.it, ResultsRunItType0):
            it = self.it.to_dict()
        else:
            it = self.it

        precision: dict[str, Any] | None | Unset
        if isinstance(self.precision, Unset):
            precision = UNSET
        elif isinstance(self.precision, ResultsRunPrecisionType0):
            precision = self.precision.to_dict()
        else:
            precision = self.precision

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "key": key,
                "cell": cell,
                "studies": studies,
                "factors": factors,
                "control": control,
                "seed": seed,
                "n_examples": n_examples,
                "n_layers": n_layers,
                "conditions": conditions,
                "metrics": metrics,
                "accuracy": accuracy,
            }
        )
        if it is not UNSET:
            field_dict["it"] = it
        if precision is not UNSET:
            field_dict["precision"] = precision

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_factors import ResultsFactors  # noqa: PLC0415
        from ..models.results_run_accuracy import ResultsRunAccuracy  # noqa: PLC0415
        from ..models.results_run_it_type_0 import ResultsRunItType0  # noqa: PLC0415
        from ..models.results_run_metrics import ResultsRunMetrics  # noqa: PLC0415
        from ..models.results_run_precision_type_0 import ResultsRunPrecisionType0  # noqa: PLC0415

        d = dict(src_dict)
        key = d.pop("key")

        cell = d.pop("cell")

        studies = cast(list[str], d.pop("studies"))

        factors = ResultsFactors.from_dict(d.pop("factors"))

        control = ResultsRunControl(d.pop("control"))

        def _parse_seed(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        seed = _parse_seed(d.pop("seed"))

        n_examples = d.pop("n_examples")

        n_layers = d.pop("n_layers")

        conditions = cast(list[str], d.pop("conditions"))

        metrics = ResultsRunMetrics.from_dict(d.pop("metrics"))

        accuracy = ResultsRunAccuracy.from_dict(d.pop("accuracy"))

        def _parse_it(data: object) -> None | ResultsRunItType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                it_type_0 = ResultsRunItType0.from_dict(data)

                return it_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsRunItType0 | Unset, data)

        it = _parse_it(d.pop("it", UNSET))

        def _parse_precision(data: object) -> None | ResultsRunPrecisionType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                precision_type_0 = ResultsRunPrecisionType0.from_dict(data)

                return precision_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsRunPrecisionType0 | Unset, data)

        precision = _parse_precision(d.pop("precision", UNSET))

        results_run = cls(
            key=key,
            cell=cell,
            studies=studies,
            factors=factors,
            control=control,
            seed=seed,
            n_examples=n_examples,
            n_layers=n_layers,
            conditions=conditions,
            metrics=metrics,
            accuracy=accuracy,
            it=it,
            precision=precision,
        )

        return results_run

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.results_cell_control import ResultsCellControl
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.results_causal_check import ResultsCausalCheck
    from ..models.results_cell_accuracy import ResultsCellAccuracy
    from ..models.results_cell_cka_null import ResultsCellCkaNull
    from ..models.results_cell_config import ResultsCellConfig
    from ..models.results_cell_control_tests import ResultsCellControlTests
    from ..models.results_cell_it import ResultsCellIt
    from ..models.results_cell_label_mass import ResultsCellLabelMass
    from ..models.results_cell_primary_type_1 import ResultsCellPrimaryType1
    from ..models.results_factors import ResultsFactors
    from ..models.results_metric_blocks import ResultsMetricBlocks


T = TypeVar("T", bound="ResultsCell")


@_attrs_define
class ResultsCell:
    """
    Attributes:
        cell (str):
        control (ResultsCellControl):
        studies (list[str]):
        factors (ResultsFactors): Swept dotted field -> value.
        config (ResultsCellConfig):
        run_keys (list[str]):
        seeds (list[int | None]):
        n_seeds (int):
        n_examples (int):
        n_layers (int):
        layer_names (list[str]):
        conditions (list[str]):
        report_layer (int):
        report_layer_clamped (bool):
        metrics (ResultsMetricBlocks):
        accuracy (ResultsCellAccuracy):
        primary (None | ResultsCellPrimaryType1):
        control_tests (ResultsCellControlTests):
        label_mass (ResultsCellLabelMass):
        it (ResultsCellIt):
        label (str | Unset): The cell named by its factors, e.g. 'k=8, selection=random' (each field by its last part;
            'base' without factors; 'random-init model: ...' for the control), unique within the document. The id in 'cell'
            stays the key that studies and tests refer to. Absent from documents written before labels were added.
        cka_null (ResultsCellCkaNull | Unset):
        causal (None | ResultsCausalCheck | Unset):
    """

    cell: str
    control: ResultsCellControl
    studies: list[str]
    factors: ResultsFactors
    config: ResultsCellConfig
    run_keys: list[str]
    seeds: list[int | None]
    n_seeds: int
    n_examples: int
    n_layers: int
    layer_names: list[str]
    conditions: list[str]
    report_layer: int
    report_layer_clamped: bool
    metrics: ResultsMetricBlocks
    accuracy: ResultsCellAccuracy
    primary: None | ResultsCellPrimaryType1
    control_tests: ResultsCellControlTests
    label_mass: ResultsCellLabelMass
    it: ResultsCellIt
    label: str | Unset = UNSET
    cka_null: ResultsCellCkaNull | Unset = UNSET
    causal: None | ResultsCausalCheck | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.results_causal_check import ResultsCausalCheck  # noqa: PLC0415
        from ..models.results_cell_primary_type_1 import ResultsCellPrimaryType1  # noqa: PLC0415

        cell = self.cell

        control = self.control.value

        studies = self.studies

        factors = self.factors.to_dict()

        config = self.config.to_dict()

        run_keys = self.run_keys

        seeds = []
        for seeds_item_data in self.seeds:
            seeds_item: int | None
            seeds_item = seeds_item_data
            seeds.append(seeds_item)

        n_seeds = self.n_seeds

        n_examples = self.n_examples

        n_layers = self.n_layers

        layer_names = self.layer_names

        conditions = self.conditions

        report_layer = self.report_layer

        report_layer_clamped = self.report_layer_clamped

        metrics = self.metrics.to_dict()

        accuracy = self.accuracy.to_dict()

        primary: dict[str, Any] | None
        if isinstance(self.primary, ResultsCellPrimaryType1):
            primary = self.primary.to_dict()
        else:
            primary = self.primary

        control_tests = self.control_tests.to_dict()

        label_mass = self.label_mass.to_dict()

        it = self.it.to_dict()

        label = self.label

        cka_null: dict[str, Any] | Unset = UNSET
        if not isinstance(self.cka_null, Unset):
            cka_null = self.cka_null.to_dict()

        causal: dict[str, Any] | None | Unset
        if isinstance(self.causal, Unset):
            causal = UNSET
        elif isinstance(self.causal, ResultsCausalCheck):
            causal = self.causal.to_dict()
        else:
            causal = self.causal

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cell": cell,
                "control": control,
                "studies": studies,
                "factors": factors,
                "config": config,
                "run_keys": run_keys,
                "seeds": seeds,
                "n_seeds": n_seeds,
                "n_examples": n_examples,
                "n_layers": n_layers,
                "layer_names": layer_names,
                "conditions": conditions,
                "report_layer": report_layer,
                "report_layer_clamped": report_layer_clamped,
                "metrics": metrics,
                "accuracy": accuracy,
                "primary": primary,
                "control_tests": control_tests,
                "label_mass": label_mass,
                "it": it,
            }
        )
        if label is not UNSET:
            field_dict["label"] = label
        if cka_null is not UNSET:
            field_dict["cka_null"] = cka_null
        if causal is not UNSET:
            field_dict["causal"] = causal

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.results_causal_check import ResultsCausalCheck  # noqa: PLC0415
        from ..models.results_cell_accuracy import ResultsCellAccuracy  # noqa: PLC0415
        from ..models.results_cell_cka_null import ResultsCellCkaNull  # noqa: PLC0415
        from ..models.results_cell_config import ResultsCellConfig  # noqa: PLC0415
        from ..models.results_cell_control_tests import ResultsCellControlTests  # noqa: PLC0415
        from ..models.results_cell_it import ResultsCellIt  # noqa: PLC0415
        from ..models.results_cell_label_mass import ResultsCellLabelMass  # noqa: PLC0415
        from ..models.results_cell_primary_type_1 import ResultsCellPrimaryType1  # noqa: PLC0415
        from ..models.results_factors import ResultsFactors  # noqa: PLC0415
        from ..models.results_metric_blocks import ResultsMetricBlocks  # noqa: PLC0415

        d = dict(src_dict)
        cell = d.pop("cell")

        control = ResultsCellControl(d.pop("control"))

        studies = cast(list[str], d.pop("studies"))

        factors = ResultsFactors.from_dict(d.pop("factors"))

        config = ResultsCellConfig.from_dict(d.pop("config"))

        run_keys = cast(list[str], d.pop("run_keys"))

        seeds = []
        _seeds = d.pop("seeds")
        for seeds_item_data in _seeds:

            def _parse_seeds_item(data: object) -> int | None:
                if data is None:
                    return data
                return cast(int | None, data)

            seeds_item = _parse_seeds_item(seeds_item_data)

            seeds.append(seeds_item)

        n_seeds = d.pop("n_seeds")

        n_examples = d.pop("n_examples")

        n_layers = d.pop("n_layers")

        layer_names = cast(list[str], d.pop("layer_names"))

        conditions = cast(list[str], d.pop("conditions"))

        report_layer = d.pop("report_layer")

        report_layer_clamped = d.pop("report_layer_clamped")

        metrics = ResultsMetricBlocks.from_dict(d.pop("metrics"))

        accuracy = ResultsCellAccuracy.from_dict(d.pop("accuracy"))

        def _parse_primary(data: object) -> None | ResultsCellPrimaryType1:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                primary_type_1 = ResultsCellPrimaryType1.from_dict(data)

                return primary_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsCellPrimaryType1, data)

        primary = _parse_primary(d.pop("primary"))

        control_tests = ResultsCellControlTests.from_dict(d.pop("control_tests"))

        label_mass = ResultsCellLabelMass.from_dict(d.pop("label_mass"))

        it = ResultsCellIt.from_dict(d.pop("it"))

        label = d.pop("label", UNSET)

        _cka_null = d.pop("cka_null", UNSET)
        cka_null: ResultsCellCkaNull | Unset
        if isinstance(_cka_null, Unset):
            cka_null = UNSET
        else:
            cka_null = ResultsCellCkaNull.from_dict(_cka_null)

        def _parse_causal(data: object) -> None | ResultsCausalCheck | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                causal_type_1 = ResultsCausalCheck.from_dict(data)

                return causal_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ResultsCausalCheck | Unset, data)

        causal = _parse_causal(d.pop("causal", UNSET))

        results_cell = cls(
            cell=cell,
            control=control,
            studies=studies,
            factors=factors,
            config=config,
            run_keys=run_keys,
            seeds=seeds,
            n_seeds=n_seeds,
            n_examples=n_examples,
            n_layers=n_layers,
            layer_names=layer_names,
            conditions=conditions,
            report_layer=report_layer,
            report_layer_clamped=report_layer_clamped,
            metrics=metrics,
            accuracy=accuracy,
            primary=primary,
            control_tests=control_tests,
            label_mass=label_mass,
            it=it,
            label=label,
            cka_null=cka_null,
            causal=causal,
        )

        return results_cell

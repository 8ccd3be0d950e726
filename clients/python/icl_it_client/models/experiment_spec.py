from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

from ..models.control import Control
from ..models.experiment_spec_metrics_item import ExperimentSpecMetricsItem
from ..models.experiment_spec_scale import ExperimentSpecScale
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.causal_spec import CausalSpec
    from ..models.data_spec import DataSpec
    from ..models.demo_spec import DemoSpec
    from ..models.experiment_spec_sweep import ExperimentSpecSweep
    from ..models.extraction_spec import ExtractionSpec
    from ..models.inference_spec import InferenceSpec
    from ..models.lora_spec import LoraSpec
    from ..models.model_spec import ModelSpec
    from ..models.study_spec import StudySpec
    from ..models.template_spec import TemplateSpec


T = TypeVar("T", bound="ExperimentSpec")


@_attrs_define
class ExperimentSpec:
    """One experiment: the base configuration, plus studies/sweeps and seeds.

    With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
    first and every other field given here overrides them.

        Attributes:
            preset (Literal['duan2023'] | None | Unset): Expand a named study design (duan2023: every factor of the paper).
            scale (ExperimentSpecScale | Unset): Preset size: smoke (minutes on a CPU), default, powered (n chosen by `icl-
                it design` to detect own − cross = 0.02 at the preset's Holm level), paper (GPU cluster). Default:
                ExperimentSpecScale.DEFAULT.
            models (list[str] | Unset): Models compared by a preset's model study (default: model.name only).
            name (str | Unset):  Default: 'experiment'.
            description (str | Unset):  Default: ''.
            tags (list[str] | Unset): Labels to find the experiment by (GET /v1/experiments?tag=): at most 16, each 1..32
                characters of letters, digits and _ . : = - (starting with a letter or digit).
            model (ModelSpec | Unset): Which causal LM to load. ``name`` is a known short name (see ``GET /v1/models``),
                a Hugging Face model id, or a local directory the server is allowed to read.
            data (DataSpec | Unset): The inference task: ``task`` is a builtin dataset name or ``upload:<id>``; or
                ``hf`` names a Hugging Face dataset (``task`` is then ``hf``), read with ``datasets``
                (docs/DATA.md) through the column mapping below.
            inference (InferenceSpec | Unset): Which inference examples (anchors) are used.
            demos (DemoSpec | Unset): The demonstration set D shown in context (ICL) and tuned on (IT).
            template (TemplateSpec | Unset): How prompts are written: plain text, or the model's chat template.
            lora (LoraSpec | Unset): LoRA instruction tuning on the demonstrations (paper: q_proj, v_proj).
            extraction (ExtractionSpec | Unset): Which hidden states are kept: the last prompt token's, at every layer (the
                only choice).
            causal (CausalSpec | Unset): The task-vector check (Hendel et al. 2023; Todd et al. 2024): add example i's ICL
                shift, and separately its IT shift, to the zero-shot pass of the base model at one
                decoder block's output (last token), and compare the output distribution with ICL's and
                IT's. Off by default: it costs 2 x (1 + cross) patched rows per example and patched
                layer (plus up to ``cross`` with the cross_adapter control), each a one-token
                continuation of the example's prompt, which runs once.
            metrics (list[ExperimentSpecMetricsItem] | Unset):
            controls (list[Control] | Unset): IT-shaped controls that perturb the model as much as tuning does:
                cross_adapter (each input through every adapter of its group, tuned on the other examples' demonstrations;
                groups of at least 16 where n allows), shuffled_labels (an adapter tuned on the same inputs with shuffled
                labels), random_lora (a random LoRA scaled per example until its hidden-state shift at the report layer is as
                long as the tuned adapter's); random_init: the whole procedure on a random-init copy of each model;
                untuned_adapter: the zero-step adapter, which equals the anchor by construction (an identity check, not a
                control).
            seeds (list[int] | Unset):
            sweep (ExperimentSpecSweep | Unset): Grid over dotted fields, e.g. {'demos.k': [1, 4, 16]}. Shorthand for one
                study named 'main'.
            studies (list[StudySpec] | Unset):
            report_layer (int | None | Unset): Layer index for factor plots and headline tests, fixed before the data are
                seen; None = the final norm's output (index n_layers + 1). Statements also cover every layer with a family-wise
                correction.
    """

    preset: Literal["duan2023"] | None | Unset = UNSET
    scale: ExperimentSpecScale | Unset = ExperimentSpecScale.DEFAULT
    models: list[str] | Unset = UNSET
    name: str | Unset = "experiment"
    description: str | Unset = ""
    tags: list[str] | Unset = UNSET
    model: ModelSpec | Unset = UNSET
    data: DataSpec | Unset = UNSET
    inference: InferenceSpec | Unset = UNSET
    demos: DemoSpec | Unset = UNSET
    template: TemplateSpec | Unset = UNSET
    lora: LoraSpec | Unset = UNSET
    extraction: ExtractionSpec | Unset = UNSET
    causal: CausalSpec | Unset = UNSET
    metrics: list[ExperimentSpecMetricsItem] | Unset = UNSET
    controls: list[Control] | Unset = UNSET
    seeds: list[int] | Unset = UNSET
    sweep: ExperimentSpecSweep | Unset = UNSET
    studies: list[StudySpec] | Unset = UNSET
    report_layer: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        preset: Literal["duan2023"] | None | Unset
        if isinstance(self.preset, Unset):
            preset = UNSET
        else:
            preset = self.preset

        scale: str | Unset = UNSET
        if not isinstance(self.scale, Unset):
            scale = self.scale.value

        models: list[str] | Unset = UNSET
        if not isinstance(self.models, Unset):
            models = self.models

        name = self.name

        description = self.description

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        model: dict[str, Any] | Unset = UNSET
        if not isinstance(self.model, Unset):
            model = self.model.to_dict()

        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        inference: dict[str, Any] | Unset = UNSET
        if not isinstance(self.inference, Unset):
            inference = self.inference.to_dict()

        demos: dict[str, Any] | Unset = UNSET
        if not isinstance(self.demos, Unset):
            demos = self.demos.to_dict()

        template: dict[str, Any] | Unset = UNSET
        if not isinstance(self.template, Unset):
            template = self.template.to_dict()

        lora: dict[str, Any] | Unset = UNSET
        if not isinstance(self.lora, Unset):
            lora = self.lora.to_dict()

        extraction: dict[str, Any] | Unset = UNSET
        if not isinstance(self.extraction, Unset):
            extraction = self.extraction.to_dict()

        causal: dict[str, Any] | Unset = UNSET
        if not isinstance(self.causal, Unset):
            causal = self.causal.to_dict()

        metrics: list[str] | Unset = UNSET
        if not isinstance(self.metrics, Unset):
            metrics = []
            for metrics_item_data in self.metrics:
                metrics_item = metrics_item_data.value
                metrics.append(metrics_item)

        controls: list[str] | Unset = UNSET
        if not isinstance(self.controls, Unset):
            controls = []
            for controls_item_data in self.controls:
                controls_item = controls_item_data.value
                controls.append(controls_item)

        seeds: list[int] | Unset = UNSET
        if not isinstance(self.seeds, Unset):
            seeds = self.seeds

        sweep: dict[str, Any] | Unset = UNSET
        if not isinstance(self.sweep, Unset):
            sweep = self.sweep.to_dict()

        studies: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.studies, Unset):
            studies = []
            for studies_item_data in self.studies:
                studies_item = studies_item_data.to_dict()
                studies.append(studies_item)

        report_layer: int | None | Unset
        if isinstance(self.report_layer, Unset):
            report_layer = UNSET
        else:
            report_layer = self.report_layer

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if preset is not UNSET:
            field_dict["preset"] = preset
        if scale is not UNSET:
            field_dict["scale"] = scale
        if models is not UNSET:
            field_dict["models"] = models
        if name is not UNSET:
            field_dict["name"] = name
        if description is not UNSET:
            field_dict["description"] = description
        if tags is not UNSET:
            field_dict["tags"] = tags
        if model is not UNSET:
            field_dict["model"] = model
        if data is not UNSET:
            field_dict["data"] = data
        if inference is not UNSET:
            field_dict["inference"] = inference
        if demos is not UNSET:
            field_dict["demos"] = demos
        if template is not UNSET:
            field_dict["template"] = template
        if lora is not UNSET:
            field_dict["lora"] = lora
        if extraction is not UNSET:
            field_dict["extraction"] = extraction
        if causal is not UNSET:
            field_dict["causal"] = causal
        if metrics is not UNSET:
            field_dict["metrics"] = metrics
        if controls is not UNSET:
            field_dict["controls"] = controls
        if seeds is not UNSET:
            field_dict["seeds"] = seeds
        if sweep is not UNSET:
            field_dict["sweep"] = sweep
        if studies is not UNSET:
            field_dict["studies"] = studies
        if report_layer is not UNSET:
            field_dict["report_layer"] = report_layer

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.causal_spec import CausalSpec  # noqa: PLC0415
        from ..models.data_spec import DataSpec  # noqa: PLC0415
        from ..models.demo_spec import DemoSpec  # noqa: PLC0415
        from ..models.experiment_spec_sweep import ExperimentSpecSweep  # noqa: PLC0415
        from ..models.extraction_spec import ExtractionSpec  # noqa: PLC0415
        from ..models.inference_spec import InferenceSpec  # noqa: PLC0415
        from ..models.lora_spec import LoraSpec  # noqa: PLC0415
        from ..models.model_spec import ModelSpec  # noqa: PLC0415
        from ..models.study_spec import StudySpec  # noqa: PLC0415
        from ..models.template_spec import TemplateSpec  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_preset(data: object) -> Literal["duan2023"] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            preset_type_0 = cast(Literal["duan2023"], data)
            if preset_type_0 != "duan2023":
                raise ValueError(f"preset_type_0 must match const 'duan2023', got '{preset_type_0}'")
            return preset_type_0
            return cast(Literal["duan2023"] | None | Unset, data)

        preset = _parse_preset(d.pop("preset", UNSET))

        _scale = d.pop("scale", UNSET)
        scale: ExperimentSpecScale | Unset
        if isinstance(_scale, Unset):
            scale = UNSET
        else:
            scale = ExperimentSpecScale(_scale)

        models = cast(list[str], d.pop("models", UNSET))

        name = d.pop("name", UNSET)

        description = d.pop("description", UNSET)

        tags = cast(list[str], d.pop("tags", UNSET))

        _model = d.pop("model", UNSET)
        model: ModelSpec | Unset
        if isinstance(_model, Unset):
            model = UNSET
        else:
            model = ModelSpec.from_dict(_model)

        _data = d.pop("data", UNSET)
        data: DataSpec | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = DataSpec.from_dict(_data)

        _inference = d.pop("inference", UNSET)
        inference: InferenceSpec | Unset
        if isinstance(_inference, Unset):
            inference = UNSET
        else:
            inference = InferenceSpec.from_dict(_inference)

        _demos = d.pop("demos", UNSET)
        demos: DemoSpec | Unset
        if isinstance(_demos, Unset):
            demos = UNSET
        else:
            demos = DemoSpec.from_dict(_demos)

        _template = d.pop("template", UNSET)
        template: TemplateSpec | Unset
        if isinstance(_template, Unset):
            template = UNSET
        else:
            template = TemplateSpec.from_dict(_template)

        _lora = d.pop("lora", UNSET)
        lora: LoraSpec | Unset
        if isinstance(_lora, Unset):
            lora = UNSET
        else:
            lora = LoraSpec.from_dict(_lora)

        _extraction = d.pop("extraction", UNSET)
        extraction: ExtractionSpec | Unset
        if isinstance(_extraction, Unset):
            extraction = UNSET
        else:
            extraction = ExtractionSpec.from_dict(_extraction)

        _causal = d.pop("causal", UNSET)
        causal: CausalSpec | Unset
        if isinstance(_causal, Unset):
            causal = UNSET
        else:
            causal = CausalSpec.from_dict(_causal)

        _metrics = d.pop("metrics", UNSET)
        metrics: list[ExperimentSpecMetricsItem] | Unset = UNSET
        if _metrics is not UNSET:
            metrics = []
            for metrics_item_data in _metrics:
                metrics_item = ExperimentSpecMetricsItem(metrics_item_data)

                metrics.append(metrics_item)

        _controls = d.pop("controls", UNSET)
        controls: list[Control] | Unset = UNSET
        if _controls is not UNSET:
            controls = []
            for controls_item_data in _controls:
                controls_item = Control(controls_item_data)

                controls.append(controls_item)

        seeds = cast(list[int], d.pop("seeds", UNSET))

        _sweep = d.pop("sweep", UNSET)
        sweep: ExperimentSpecSweep | Unset
        if isinstance(_sweep, Unset):
            sweep = UNSET
        else:
            sweep = ExperimentSpecSweep.from_dict(_sweep)

        _studies = d.pop("studies", UNSET)
        studies: list[StudySpec] | Unset = UNSET
        if _studies is not UNSET:
            studies = []
            for studies_item_data in _studies:
                studies_item = StudySpec.from_dict(studies_item_data)

                studies.append(studies_item)

        def _parse_report_layer(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        report_layer = _parse_report_layer(d.pop("report_layer", UNSET))

        experiment_spec = cls(
            preset=preset,
            scale=scale,
            models=models,
            name=name,
            description=description,
            tags=tags,
            model=model,
            data=data,
            inference=inference,
            demos=demos,
            template=template,
            lora=lora,
            extraction=extraction,
            causal=causal,
            metrics=metrics,
            controls=controls,
            seeds=seeds,
            sweep=sweep,
            studies=studies,
            report_layer=report_layer,
        )

        return experiment_spec

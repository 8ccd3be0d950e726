"""The experiment spec: the one schema used by the CLI, the API, the workers and the docs.

An ``ExperimentSpec`` describes one experiment. ``expand_runs`` turns it into concrete
``RunConfig`` objects: one per (study, sweep point, seed), de-duplicated (a configuration
shared by several studies is computed once). Every field has a default and a limit,
enforced by pydantic: a bad spec is a 422.
"""

from __future__ import annotations

import itertools
import json
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from services.common.spec import limits
from services.common.spec.run_identity import config_digest
from services.common.spec.sections import (
    MAX_DEMOS,
    MAX_EXPLICIT_TEXT_CHARS,
    MAX_INFERENCE_EXAMPLES,
    MAX_RUNS,
    MAX_SEEDS,
    MAX_SWEEP_VALUES,
    CausalSpec,
    DataSpec,
    DemoSpec,
    ExtractionSpec,
    InferenceSpec,
    LoraSpec,
    ModelSpec,
    Name,
    Seed,
    StrictModel,
    TemplateSpec,
)
from services.common.spec.sweep_values import (
    SWEEPABLE,
    canonical_overrides,
    check_sweep,
    unknown_field_problem,
)
from services.common.spec.tags import Tags
from services.common.storage.hidden_states import Condition

__all__ = [
    "ALL_METRICS",
    "CausalSpec",
    "IT_CONTROLS",
    "MAX_DEMOS",
    "MAX_EXPLICIT_TEXT_CHARS",
    "MAX_INFERENCE_EXAMPLES",
    "MAX_RUNS",
    "MAX_SEEDS",
    "MAX_SWEEP_VALUES",
    "RUN_SECTIONS",
    "SWEEPABLE",
    "DataSpec",
    "DemoSpec",
    "ExperimentSpec",
    "ExtractionSpec",
    "InferenceSpec",
    "LoraSpec",
    "ModelSpec",
    "RunConfig",
    "StudySpec",
    "TemplateSpec",
    "expand_runs",
]


Metric = Literal[
    "cosine",
    "centered_cosine",
    "cka",
    "shift_cosine",
    "shift_cosine_mismatched",
    "shift_projection",
    "shift_norm",
    "shared_fraction",
]
ALL_METRICS: tuple[Metric, ...] = get_args(Metric)


class Control(StrEnum):
    """A control of the spec's ``controls``."""

    CROSS_ADAPTER = "cross_adapter"
    SHUFFLED_LABELS = "shuffled_labels"
    RANDOM_LORA = "random_lora"
    RANDOM_INIT = "random_init"  # the whole procedure on a random-init copy of each model
    UNTUNED_ADAPTER = "untuned_adapter"  # an identity check, not a control

    @property
    def condition(self) -> Condition:
        """The condition an IT-shaped control's states are stored under (KeyError for
        random_init, which reruns everything on another model instead)."""
        return _CONDITION_OF[self]


_CONDITION_OF = {
    Control.CROSS_ADAPTER: Condition.IT_CROSS,
    Control.SHUFFLED_LABELS: Condition.IT_SHUFFLED,
    Control.RANDOM_LORA: Condition.IT_RANDOM,
    Control.UNTUNED_ADAPTER: Condition.IT_UNTUNED,
}
# Controls computed inside every real run as extra IT-shaped conditions (engine).
IT_CONTROLS = (Control.CROSS_ADAPTER, Control.SHUFFLED_LABELS, Control.RANDOM_LORA)


class StudySpec(StrictModel):
    """A named group of runs: a sweep over one or more factors with optional overrides."""

    name: Name
    description: str = Field("", max_length=500)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted field -> value applied before the sweep."
    )
    factor: str | None = Field(
        None,
        max_length=64,
        description="The field this study is about (x axis of its factor plot): one of the "
        "fields it sweeps.",
    )

    @field_validator("sweep")
    @classmethod
    def _sweep_ok(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return check_sweep(v)

    @field_validator("overrides")
    @classmethod
    def _overrides_ok(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if key not in SWEEPABLE:
                raise ValueError(unknown_field_problem(key, "override"))
        return canonical_overrides(v)

    @model_validator(mode="after")
    def _factor_is_swept(self) -> StudySpec:
        # The factor labels the study's figures and orders its cells: a field the study
        # does not sweep has no levels (and free text would reach a figure's labels).
        if self.factor is not None and self.factor not in self.sweep:
            raise ValueError(
                f"factor {self.factor[:64]!r} is not swept by study {self.name!r}; "
                f"its swept fields: {sorted(self.sweep)}"
            )
        return self


class ExperimentSpec(StrictModel):
    """One experiment: the base configuration, plus studies/sweeps and seeds.

    With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
    first and every other field given here overrides them.
    """

    preset: Literal["duan2023"] | None = Field(
        None, description="Expand a named study design (duan2023: every factor of the paper)."
    )
    scale: Literal["smoke", "default", "powered", "paper"] = Field(
        "default",
        description="Preset size: smoke (minutes on a CPU), default, powered (n chosen by "
        "`icl-it design` to detect own − cross = 0.02 at the preset's Holm level), paper "
        "(GPU cluster).",
    )
    models: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=8,
        description="Models compared by a preset's model study (default: model.name only).",
    )
    name: Name = "experiment"
    description: str = Field("", max_length=2000)
    tags: Tags = []
    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    inference: InferenceSpec = InferenceSpec()
    demos: DemoSpec = DemoSpec()
    template: TemplateSpec = TemplateSpec()
    lora: LoraSpec = LoraSpec()
    extraction: ExtractionSpec = ExtractionSpec()
    causal: CausalSpec = CausalSpec()
    metrics: list[Metric] = Field(
        default_factory=lambda: list(ALL_METRICS), min_length=1, max_length=len(ALL_METRICS)
    )
    controls: list[Control] = Field(
        [*IT_CONTROLS, Control.RANDOM_INIT],
        max_length=5,
        description="IT-shaped controls that perturb the model as much as tuning does: "
        "cross_adapter (each input through every adapter of its group, tuned on the other "
        "examples' demonstrations; groups of at least 16 where n allows), shuffled_labels (an "
        "adapter tuned on the same inputs with shuffled labels), random_lora (a random LoRA "
        "scaled per example until its hidden-state shift at the report layer is as long as "
        "the tuned adapter's); random_init: the whole procedure on a random-init copy of each model; "
        "untuned_adapter: the zero-step adapter, which equals the anchor by construction "
        "(an identity check, not a control).",
    )
    seeds: list[Seed] = Field([0], min_length=1, max_length=MAX_SEEDS)
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Grid over dotted fields, e.g. {'demos.k': [1, 4, 16]}. Shorthand for one "
        "study named 'main'.",
    )
    studies: list[StudySpec] = Field(default_factory=list, max_length=16)
    report_layer: int | None = Field(
        None,
        ge=0,
        le=513,
        description="Layer index for factor plots and headline tests, fixed before the data "
        "are seen; None = the final norm's output (index n_layers + 1). Statements also "
        "cover every layer with a family-wise correction.",
    )

    @field_validator("sweep")
    @classmethod
    def _sweep_ok(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return check_sweep(v)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset"):
            from services.common.spec.presets import apply_preset

            return apply_preset(data)
        return data

    @model_validator(mode="before")  # defined after _apply_preset: runs before it
    @classmethod
    def _raw_input_ok(cls, data: Any) -> Any:
        limits.check_raw_spec(data)
        return data

    @field_validator("metrics", "controls", "seeds")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        if len(set(v)) != len(v):
            raise ValueError("values must be unique")
        return v

    @model_validator(mode="after")
    def _expandable(self) -> ExperimentSpec:
        if self.sweep and self.studies:
            raise ValueError("give either 'sweep' or 'studies', not both")
        names = [s.name for s in self.studies]
        if len(set(names)) != len(names):
            raise ValueError("study names must be unique")
        sweeps = [s.sweep for s in self.effective_studies()]
        limits.check_run_count(sweeps, len(self.seeds), MAX_RUNS)  # before expanding
        runs = expand_runs(self)  # validates every point; raises ValueError
        if len(runs) > MAX_RUNS:
            raise ValueError(f"spec expands to {len(runs)} runs (max {MAX_RUNS})")
        return self

    def effective_studies(self) -> list[StudySpec]:
        """The studies to expand: ``studies``, or the top-level ``sweep`` as one study 'main'."""
        if self.studies:
            return list(self.studies)
        return [StudySpec(name="main", sweep=self.sweep, factor=next(iter(self.sweep), None))]


class RunConfig(StrictModel):
    """One concrete unit of GPU work: every factor fixed, one seed."""

    key: str = Field(..., description="Content hash of the resolved configuration.")
    studies: list[str]
    factors: dict[str, Any] = Field(
        default_factory=dict, description="Swept field -> value at this point."
    )
    control: Literal["none", "random_init"] = "none"
    seed: Seed
    model: ModelSpec
    data: DataSpec
    inference: InferenceSpec
    demos: DemoSpec
    template: TemplateSpec
    lora: LoraSpec
    extraction: ExtractionSpec
    causal: CausalSpec = CausalSpec()
    untuned_adapter: bool = False
    it_controls: list[Control] = Field(
        default_factory=list, description="IT-shaped controls computed in this run."
    )
    # the experiment's report layer (None: the final norm's output): where the random-LoRA
    # control is scaled to move the state as far as tuning does
    report_layer: int | None = Field(None, ge=0, le=513)

    @property
    def it_steps(self) -> int:
        """Optimizer steps per adapter at this point: the LoRA budget for ``demos.k`` demos."""
        return self.lora.steps_for(self.demos.k)

    @property
    def cell(self) -> str:
        """The configuration as computed (``computed_config``) without its seed."""
        payload = self.model_dump(mode="json", exclude={"key", "studies", "seed", "factors"})
        return config_digest(payload)


def _set_dotted(base: dict[str, Any], dotted: str, value: Any) -> None:
    section, field = dotted.split(".", 1)
    base.setdefault(section, {})[field] = value


# The configuration sections of a run (the config of a cell, minus seed and bookkeeping).
RUN_SECTIONS = ("model", "data", "inference", "demos", "template", "lora", "extraction", "causal")


def expand_runs(spec: ExperimentSpec) -> list[RunConfig]:
    """Expand studies x sweep grid x seeds (+ controls) into unique RunConfigs.

    Raises ValueError naming the sweep point when a point is itself invalid.
    """
    base = {s: getattr(spec, s).model_dump(mode="json") for s in RUN_SECTIONS}
    by_key: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    untuned = "untuned_adapter" in spec.controls
    it_controls = [c for c in IT_CONTROLS if c in spec.controls]

    def add(point: dict[str, Any], factors: dict[str, Any], study: str, control: str) -> None:
        for seed in spec.seeds:
            body = {
                **point,
                "seed": seed,
                "control": control,
                "untuned_adapter": untuned and control == "none",
                "it_controls": it_controls if control == "none" else [],
                "report_layer": spec.report_layer,
            }
            key = config_digest(body)
            if key in by_key:  # same configuration reached from another study
                if study not in by_key[key]["studies"]:
                    by_key[key]["studies"].append(study)
                by_key[key]["factors"].update(factors)
                continue
            by_key[key] = {**body, "key": key, "studies": [study], "factors": dict(factors)}
            order.append(key)

    models_seen: dict[str, dict[str, Any]] = {}
    for study in spec.effective_studies():
        keys = list(study.sweep)
        for combo in itertools.product(*(study.sweep[k] for k in keys)):
            point = json.loads(json.dumps(base))
            for dotted, value in study.overrides.items():
                _set_dotted(point, dotted, value)
            factors = dict(zip(keys, combo, strict=True))
            for dotted, value in factors.items():
                _set_dotted(point, dotted, value)
            add(point, factors, study.name, "none")
            models_seen.setdefault(json.dumps(point["model"], sort_keys=True), point)

    if "random_init" in spec.controls:
        for point in models_seen.values():
            add(point, {"model.name": point["model"]["name"]}, "controls", "random_init")

    runs: list[RunConfig] = []
    problems: dict[str, str] = {}  # each problem once, with the first point that has it
    for key in order:
        try:
            runs.append(RunConfig.model_validate(by_key[key]))
        except ValidationError as exc:  # -> ValueError naming the points and the fields
            for e in exc.errors():
                detail = f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                problems.setdefault(detail, f"sweep point {by_key[key]['factors']}")
    if problems:
        raise ValueError("; ".join(f"{point} is invalid: {d}" for d, point in problems.items()))
    return runs

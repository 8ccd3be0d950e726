"""The experiment spec: the one schema used by the CLI, the API, the workers and the docs.

An ``ExperimentSpec`` describes one experiment. ``expand_runs`` turns it into concrete
``RunConfig`` objects: one per (study, sweep point, seed), de-duplicated so that a
configuration shared by several studies is computed once.

Every field has a default and a limit; limits are enforced by pydantic so that a bad
spec is a 422 naming its field and never reaches a worker.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from services.common import limits

# ---------------------------------------------------------------------------------------
# Limits (one place; documented in the schema through Field(le=...)).
MAX_INFERENCE_EXAMPLES = 256
MAX_DEMOS = 64
MAX_SEEDS = 16
MAX_RUNS = 512
MAX_SWEEP_VALUES = 32
MAX_EXPLICIT_TEXT_CHARS = 4000

_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """Which causal LM to load. ``name`` is a known short name (see ``GET /v1/models``),
    a Hugging Face model id, or a local directory the server is allowed to read."""

    name: str = Field(
        "smollm2-135m",
        min_length=1,
        max_length=200,
        description="Known short name (e.g. smollm2-135m, llama-2-7b, llama-2-7b-chat), "
        "a Hugging Face id (org/name) or an allowed local directory.",
    )
    revision: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9_.\-/]+$", description="Hub revision."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto = bfloat16 on CUDA, float32 on CPU."
    )

    @field_validator("name")
    @classmethod
    def _no_traversal(cls, v: str) -> str:
        if ".." in v.split("/") or "\x00" in v:
            raise ValueError("model name must not contain '..' path segments")
        return v


class DataSpec(_Strict):
    """The inference task. ``task`` is a builtin dataset name or ``upload:<id>``."""

    task: str = Field(
        "sentiment",
        max_length=80,
        pattern=r"^(upload:[0-9a-f]{32}|[a-z][a-z0-9_]{0,39})$",
        description="Builtin task (sentiment, topic, translation_en_fr) or upload:<dataset id>.",
    )


class InferenceSpec(_Strict):
    """Which inference examples (anchors) are used."""

    n: int = Field(8, ge=1, le=MAX_INFERENCE_EXAMPLES, description="Number of examples.")
    seed: Seed = Field(0, description="Seed for sampling the inference examples.")
    indices: list[Annotated[int, Field(ge=0)]] | None = Field(
        None,
        max_length=MAX_INFERENCE_EXAMPLES,
        description="Explicit row indices into the task dataset; overrides n and seed.",
    )


class DemoSpec(_Strict):
    """The demonstration set D shown in context (ICL) and tuned on (IT)."""

    k: int = Field(4, ge=1, le=MAX_DEMOS, description="Number of demonstrations.")
    selection: Literal["random", "most_similar", "least_similar"] = Field(
        "random",
        description="random, or by sentence-embedding cosine to the inference example "
        "(all-MiniLM-L6-v2).",
    )
    label_noise: float = Field(
        0.0, ge=0.0, le=1.0, description="Fraction of demonstration labels flipped."
    )
    source_task: str | None = Field(
        None,
        max_length=80,
        pattern=r"^(upload:[0-9a-f]{32}|[a-z][a-z0-9_]{0,39})$",
        description="Draw demonstrations from another task (task mismatch). None = same task.",
    )
    scope: Literal["per_example", "shared"] = Field(
        "per_example",
        description="per_example: one demonstration set (and adapter) per inference example "
        "(the paper); shared: one set for all examples.",
    )
    balanced: bool = Field(True, description="Random selection draws labels as evenly as possible.")


class TemplateSpec(_Strict):
    kind: Literal["plain", "chat"] = Field(
        "plain", description="plain 'Input: …\\nLabel:' text, or the model's chat template."
    )


class LoraSpec(_Strict):
    """LoRA instruction tuning on the demonstrations (paper: q_proj, v_proj)."""

    r: int = Field(8, ge=1, le=256)
    alpha: float = Field(16.0, gt=0, le=1024)
    dropout: float = Field(0.0, ge=0.0, le=0.5)
    target_modules: list[str] = Field(["q_proj", "v_proj"], min_length=1, max_length=16)
    lr: float = Field(1e-3, gt=0, le=1.0)
    epochs: int = Field(
        8,
        ge=0,
        le=200,
        description="Full-batch passes over D (one optimizer step each): a budget that does "
        "not grow with k.",
    )
    steps_per_demo: int | None = Field(
        None,
        ge=1,
        le=30,
        description="Overrides epochs: steps_per_demo x k full-batch steps, so the IT budget "
        "grows with the number of demonstrations as the ICL prompt does.",
    )
    max_steps: int | None = Field(
        None, ge=0, le=2000, description="Overrides epochs and steps_per_demo."
    )
    stop_loss: float | None = Field(
        None, ge=0, le=100, description="Stop early once the training loss is below this."
    )
    loss_on: Literal["label", "sequence"] = Field(
        "label", description="Loss on the label tokens only, or on the whole sequence."
    )
    seed: Seed = Field(0, description="Offset added to the run seed for adapter init.")

    @field_validator("target_modules")
    @classmethod
    def _module_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _MODULE_RE.match(name):
                raise ValueError(f"invalid module name {name!r}")
        return v

    @property
    def steps(self) -> int:
        """Fixed steps (ignores steps_per_demo; see ``steps_for``)."""
        return self.max_steps if self.max_steps is not None else self.epochs

    def steps_for(self, k: int) -> int:
        """Optimizer steps for a demonstration set of k examples."""
        if self.max_steps is None and self.steps_per_demo is not None:
            return self.steps_per_demo * k
        return self.steps

    def budget(self, k: int) -> str:
        """How the step count was chosen, in words (recorded with each run)."""
        if self.max_steps is not None:
            return f"max_steps={self.max_steps}"
        if self.steps_per_demo is not None:
            return f"steps_per_demo={self.steps_per_demo} x k={k}"
        return f"epochs={self.epochs} (full-batch)"


class ExtractionSpec(_Strict):
    position: Literal["last_prompt_token"] = "last_prompt_token"
    layers: Literal["all"] = Field(
        "all", description="Embeddings (layer 0) and the output of every decoder block."
    )


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
Control = Literal[
    "cross_adapter", "shuffled_labels", "random_lora", "random_init", "untuned_adapter"
]
# Controls computed inside every real run as extra IT-shaped conditions (engine).
IT_CONTROLS = ("cross_adapter", "shuffled_labels", "random_lora")

SWEEPABLE = {
    "model.name",
    "model.dtype",
    "data.task",
    "inference.n",
    "demos.k",
    "demos.selection",
    "demos.label_noise",
    "demos.source_task",
    "demos.scope",
    "template.kind",
    "lora.r",
    "lora.alpha",
    "lora.lr",
    "lora.epochs",
    "lora.steps_per_demo",
    "lora.max_steps",
    "lora.loss_on",
    "lora.target_modules",
}


def _check_sweep(sweep: dict[str, list[Any]]) -> dict[str, list[Any]]:
    for key, values in sweep.items():
        if key not in SWEEPABLE:
            raise ValueError(f"cannot sweep {key!r}; sweepable fields: {sorted(SWEEPABLE)}")
        if not isinstance(values, list) or not values:
            raise ValueError(f"sweep {key!r} needs a non-empty list of values")
        if len(values) > MAX_SWEEP_VALUES:
            raise ValueError(f"sweep {key!r} has {len(values)} values (max {MAX_SWEEP_VALUES})")
    return sweep


class StudySpec(_Strict):
    """A named group of runs: a sweep over one or more factors with optional overrides."""

    name: str = Field(..., pattern=_NAME_RE)
    description: str = Field("", max_length=500)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted field -> value applied before the sweep."
    )
    factor: str | None = Field(
        None, description="The field this study is about (x axis of its factor plot)."
    )

    @field_validator("sweep")
    @classmethod
    def _sweep_ok(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return _check_sweep(v)

    @field_validator("overrides")
    @classmethod
    def _overrides_ok(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if key not in SWEEPABLE:
                raise ValueError(f"cannot override {key!r}; allowed: {sorted(SWEEPABLE)}")
        return v


class ExperimentSpec(_Strict):
    """One experiment: the base configuration, plus studies/sweeps and seeds.

    With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
    first and every other field given here overrides them.
    """

    preset: Literal["duan2023"] | None = Field(
        None, description="Expand a named study design (duan2023: every factor of the paper)."
    )
    scale: Literal["smoke", "default", "paper"] = Field(
        "default",
        description="Preset size: smoke (minutes on a CPU), default, paper (GPU cluster).",
    )
    models: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=8,
        description="Models compared by a preset's model study (default: model.name only).",
    )
    name: str = Field("experiment", pattern=_NAME_RE)
    description: str = Field("", max_length=2000)
    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    inference: InferenceSpec = InferenceSpec()
    demos: DemoSpec = DemoSpec()
    template: TemplateSpec = TemplateSpec()
    lora: LoraSpec = LoraSpec()
    extraction: ExtractionSpec = ExtractionSpec()
    metrics: list[Metric] = Field(
        default_factory=lambda: list(ALL_METRICS), min_length=1, max_length=len(ALL_METRICS)
    )
    controls: list[Control] = Field(
        ["cross_adapter", "shuffled_labels", "random_lora", "random_init"],
        max_length=5,
        description="IT-shaped controls that perturb the model as much as tuning does: "
        "cross_adapter (each input through the adapter tuned on another example's "
        "demonstrations), shuffled_labels (an adapter tuned on the same inputs with "
        "shuffled labels), random_lora (a random LoRA with the tuned adapter's per-layer "
        "norm); random_init: the whole procedure on a random-init copy of each model; "
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
        return _check_sweep(v)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset"):
            from services.common.presets import apply_preset

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
        if self.studies:
            return list(self.studies)
        return [StudySpec(name="main", sweep=self.sweep, factor=next(iter(self.sweep), None))]


class RunConfig(_Strict):
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
    untuned_adapter: bool = False
    it_controls: list[Literal["cross_adapter", "shuffled_labels", "random_lora"]] = Field(
        default_factory=list, description="IT-shaped controls computed in this run."
    )

    @property
    def it_steps(self) -> int:
        return self.lora.steps_for(self.demos.k)

    @property
    def cell(self) -> str:
        """Identifies the configuration without its seed (runs aggregated over seeds)."""
        payload = self.model_dump(mode="json", exclude={"key", "studies", "seed", "factors"})
        return _digest(payload)


def _digest(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _set_dotted(base: dict[str, Any], dotted: str, value: Any) -> None:
    section, field = dotted.split(".", 1)
    base.setdefault(section, {})[field] = value


# The configuration sections of a run (the config of a cell, minus seed and bookkeeping).
RUN_SECTIONS = ("model", "data", "inference", "demos", "template", "lora", "extraction")


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
            }
            key = _digest(body)
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
    for key in order:
        try:
            runs.append(RunConfig.model_validate(by_key[key]))
        except ValidationError as exc:  # -> ValueError naming the point and the field
            factors = by_key[key]["factors"]
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"sweep point {factors} is invalid: {detail}") from None
    return runs

"""The sections of an experiment spec (model, data, inference, demos, template, lora,
extraction) with their limits. ``services.common.spec`` assembles them into
``ExperimentSpec`` and expands it into runs; import them from there."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.storage.artifacts import key_part_pattern, key_part_problem

# ---------------------------------------------------------------------------------------
# Limits (one place; documented in the schema through Field(le=...)).
MAX_INFERENCE_EXAMPLES = 256
MAX_DEMOS = 64
MAX_SEEDS = 16
MAX_RUNS = 512
MAX_SWEEP_VALUES = 32
MAX_EXPLICIT_TEXT_CHARS = 4000

MAX_NAME_CHARS = 64
# Experiment and study names end up in figure file names and artifact keys: the artifact
# store's rule for a key part (its characters, and no '..'), at a shorter length.
NAME_PATTERN = key_part_pattern(MAX_NAME_CHARS)
# A branch, tag or commit: '/'-separated parts that each start with a letter, digit or
# '_' (no leading '/', no '.' or '..' part, no empty part); '..' anywhere is refused too.
REVISION_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$"
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]


def _key_part_name(value: str) -> str:
    problem = key_part_problem(value)
    if problem is not None:
        raise ValueError(f"name {value[:MAX_NAME_CHARS]!r} {problem}")
    return value


Name = Annotated[
    str,
    Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS),
    AfterValidator(_key_part_name),
]


class StrictModel(BaseModel):
    """Unknown keys are an error (a typo is never a silent default); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(StrictModel):
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
        None,
        max_length=64,
        pattern=REVISION_PATTERN,
        description="Hub revision: a branch, tag or commit (no '..', no leading '/').",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto",
        description="Compute precision. bfloat16/float16 = mixed precision: Linear weights "
        "and matmuls in that dtype (autocast); embeddings, norms, LoRA weights, optimiser "
        "state and the loss in float32; hidden states are stored in float32 always. "
        "float16 runs on CUDA only. auto = bfloat16 on CUDA with bf16 support, float32 "
        "elsewhere (CPUs too, even with AMX/AVX512-BF16: see bench/NOTES.md, Precision).",
    )

    @field_validator("name")
    @classmethod
    def _no_traversal(cls, v: str) -> str:
        if ".." in v.split("/") or "\x00" in v:
            raise ValueError("model name must not contain '..' path segments")
        return v

    @field_validator("revision")
    @classmethod
    def _revision_not_a_path(cls, v: str | None) -> str | None:
        if v is not None and ".." in v:
            raise ValueError("revision must not contain '..'")
        return v


HF_TASK = "hf"  # data.task of a spec whose data.hf names the dataset
Column = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class DataSpec(StrictModel):
    """The inference task: ``task`` is a builtin dataset name or ``upload:<id>``; or
    ``hf`` names a Hugging Face dataset (``task`` is then ``hf``), read with ``datasets``
    (docs/DATA.md) through the column mapping below."""

    task: str = Field(
        "sentiment",
        max_length=80,
        pattern=r"^(upload:[0-9a-f]{32}|[a-z][a-z0-9_]{0,39})$",
        description="Builtin task (sentiment, topic, translation_en_fr) or upload:<dataset id>; "
        "'hf' (set for you) with data.hf.",
    )
    hf: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^(/[^\x00-\x1f\x7f]*|[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?)$",
        description="A Hugging Face dataset: a Hub id (name or org/name; datasets.load_dataset, "
        "from the datasets cache when offline) or the absolute path of a save_to_disk "
        "directory inside ICL_IT_DATA_DIRS.",
    )
    config: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", description="The dataset's config."
    )
    split: str = Field(
        "train",
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+(\[-?[0-9]*%?:-?[0-9]*%?\])?$",
        description="The split, with an optional slice as datasets writes it: train[:2000].",
    )
    text_column: Column | None = Field(None, description="The text column (default: text).")
    label_column: Column | None = Field(None, description="The label column (default: label).")
    label_names: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None,
        max_length=32,
        description="Words of integer labels (label i -> label_names[i]); default: the "
        "column's ClassLabel names, else the integer's digits.",
    )

    @model_validator(mode="before")
    @classmethod
    def _hf_sets_the_task(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("hf") is not None and "task" not in data:
            return {**data, "task": HF_TASK}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if self.hf is not None and self.task != HF_TASK:
            raise ValueError(f"give data.task ({self.task!r}) or data.hf, not both")
        if self.hf is None and self.task == HF_TASK:
            raise ValueError("data.task 'hf' needs data.hf (a Hugging Face dataset)")
        mapped = {"config", "text_column", "label_column", "label_names"} & self.model_fields_set
        if self.hf is None and {k for k in mapped if getattr(self, k) is not None}:
            raise ValueError(f"{', '.join(sorted(mapped))}: only with data.hf")
        if ".." in (self.hf or "").split("/"):
            raise ValueError("data.hf must not contain '..' path segments")
        return self


class InferenceSpec(StrictModel):
    """Which inference examples (anchors) are used."""

    n: int = Field(8, ge=1, le=MAX_INFERENCE_EXAMPLES, description="Number of examples.")
    seed: Seed = Field(0, description="Seed for sampling the inference examples.")
    indices: list[Annotated[int, Field(ge=0)]] | None = Field(
        None,
        max_length=MAX_INFERENCE_EXAMPLES,
        description="Explicit row indices into the task dataset; overrides n and seed.",
    )


class DemoSpec(StrictModel):
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
    contrast: Literal["none", "label_skewed", "verbalizer_swapped"] = Field(
        "none",
        description="Make the demonstration sets differ on purpose, so that an adapter tuned "
        "on one example's set is distinguishable from another's (needs a classification "
        "demonstration task). none: as selected. label_skewed: each set is dominated by one "
        "label (k - floor(k/4) demonstrations of it), the dominant label varying across "
        "examples and balanced within each gold label. verbalizer_swapped: each example's "
        "demonstrations use a label-word mapping of its own (a cyclic shift of the task's "
        "label words; shift 0 = the true words), varying across examples; that example's "
        "gold label is stored as the word its mapping assigns, so accuracy measures whether "
        "a condition follows its demonstrations' mapping. The query prompt carries no label "
        "words: ICL sees the mapping only in its demonstrations, IT only through its tuning.",
    )

    @model_validator(mode="after")
    def _contrast_needs_sets_per_example(self) -> DemoSpec:
        if self.contrast != "none" and self.scope == "shared":
            raise ValueError(f"contrast={self.contrast} needs scope=per_example (one set each)")
        return self


class TemplateSpec(StrictModel):
    """How prompts are written: plain text, or the model's chat template."""

    kind: Literal["plain", "chat"] = Field(
        "plain", description="plain 'Input: …\\nLabel:' text, or the model's chat template."
    )


class LoraSpec(StrictModel):
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
    save_adapters: Literal["auto", "all", "none"] = Field(
        "auto",
        description="Save the tuned adapters as artifacts in peft's save_pretrained layout "
        "(runs/<run>/adapters/<n>/). auto: while a run's adapters take at most 64 MiB "
        "(small models); all; none.",
    )

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


class ExtractionSpec(StrictModel):
    """Which hidden states are kept: the last prompt token's, at every layer (the only choice)."""

    position: Literal["last_prompt_token"] = "last_prompt_token"
    layers: Literal["all"] = Field(
        "all", description="Embeddings (layer 0) and the output of every decoder block."
    )


MAX_PATCHED_LAYERS = 16
MAX_CAUSAL_CROSS = 16


class CausalSpec(StrictModel):
    """The task-vector check (Hendel et al. 2023; Todd et al. 2024): add example i's ICL
    shift, and separately its IT shift, to the zero-shot pass of the base model at one
    decoder block's output (last token), and compare the output distribution with ICL's and
    IT's. Off by default: it costs 2 x (1 + cross) patched rows per example and patched
    layer (plus up to ``cross`` with the cross_adapter control), each a one-token
    continuation of the example's prompt, which runs once."""

    enabled: bool = Field(False, description="Run the task-vector check (activation patching).")
    layers: list[Annotated[int, Field(ge=1, le=512)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_PATCHED_LAYERS,
        description="Decoder blocks (1..n_layers) whose output gets the shift; None = the "
        "blocks at 1/4, 1/2 and 3/4 depth and the last block. Blocks beyond the model's "
        "depth are skipped and recorded.",
    )
    cross: int = Field(
        4,
        ge=1,
        le=MAX_CAUSAL_CROSS,
        description="Other examples' shifts patched into each example's pass (the cross "
        "version): examples i+1 .. i+cross (mod n). With the cross_adapter control, also the "
        "example's own IT shift through up to this many other examples' adapters (the "
        "demonstration-specific version: same input, other demonstrations).",
    )

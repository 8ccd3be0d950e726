"""What a run computes, decided once from its RunConfig before any model work.

``plan_run`` lays out a run: its inference examples and their demonstration sets, the
anchor and ICL prompts, one adapter per distinct demonstration set (init seed, training
pairs, and the shuffled-label twin when that control runs), how the adapters are grouped
for training, and which conditions are extracted. ``Engine.execute`` executes a plan; the
benchmark's baseline executes the same plan another way, so both compute the same science
on the same examples, prompts and seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from transformers import PreTrainedTokenizerBase

from services.common.spec import Control, LoraSpec, RunConfig
from services.common.storage.datasets import Dataset, Example
from services.common.storage.hidden_states import Condition
from services.gpu_worker.prompts import Demo, Prompt, PromptBuilder, TrainingPair
from services.gpu_worker.selection import (
    DemoSet,
    Embedder,
    contrast_levels,
    select_demos,
    verbalize,
)

# Adapters per group at least (where n allows) when every input runs through every
# adapter of its group (cross_adapter): the cross matrix of a group is m x m.
CROSS_GROUP_MIN = 16
# Rounds at most to scale the random LoRA to the tuned adapter's state shift (engine): on
# SmolLM2 the weight-matched start is ~70x short, and 6 rounds left 1 of 8 inputs 2.6% off.
RANDOM_LORA_ROUNDS = 10

_SHARED_DEMOS = 0x5A  # rng stream of the one demonstration set of demos.scope: shared
_SHUFFLE = 0x5F  # seed stream of the shuffled-label permutations


def unit_seed(*parts: int) -> int:
    """A seed in [0, 2**31 - 1) derived from ``parts`` (adapter inits, label shuffles)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0] % (2**31 - 1))


def adapter_groups(n_units: int, size: int, min_size: int = 2) -> list[list[int]]:
    """Consecutive groups of ``size`` units (at least ``min_size`` unless ``size`` is 1:
    one at a time); a last group smaller than ``min_size`` joins the one before it (a
    cross-adapter control needs two adapters in a group, and its cross matrix ``min_size``)."""
    size = max(size, min_size) if size > 1 else size
    groups = [list(range(g, min(g + size, n_units))) for g in range(0, n_units, size)]
    if size > 1 and len(groups) > 1 and len(groups[-1]) < min_size:
        last = groups.pop()  # before indexing: ``groups[-2] += groups.pop()`` stores too late
        groups[-1] += last
    return groups


def shuffled_demos(demos: Sequence[Demo], data: Dataset, seed: int) -> list[Demo]:
    """The same demonstration inputs with their labels permuted (a permutation that moves
    at least one label when any two labels differ). When every label is the same (e.g.
    k = 1) and the task has a label set, each label is replaced by another label of the
    task, so the control never trains on the true pairing."""
    rng = np.random.default_rng(seed)
    labels = [d.label for d in demos]
    if len(set(labels)) > 1:
        for _ in range(32):
            perm = rng.permutation(len(labels))
            if any(labels[p] != lab for p, lab in zip(perm, labels, strict=True)):
                break
        new = [labels[p] for p in perm]
    elif data.is_classification and len(data.labels) > 1:
        new = [str(rng.choice([x for x in data.labels if x != lab])) for lab in labels]
    else:
        new = labels
    return [Demo(d.text, lab, d.task) for d, lab in zip(demos, new, strict=True)]


def choose_demo_sets(
    run: RunConfig,
    data: Dataset,
    examples: list[Example],
    demo_data: Dataset,
    embed: Embedder,
) -> list[DemoSet]:
    """One demonstration set per inference example (the same object for every example
    with ``demos.scope: shared``), drawn from ``demo_data`` less the inference examples;
    ``demos.contrast`` skews or relabels each set by its example's ``contrast_levels``."""
    taken = {ex.index for ex in examples} if demo_data is data else set()
    pool = [ex for ex in demo_data.examples if ex.index not in taken]
    label_set = demo_data.labels if demo_data.is_classification else ()
    ranked = run.demos.selection != "random"
    pool_emb = embed([ex.text for ex in pool]) if ranked else None
    contrast = _check_contrast(run, data, demo_data)
    gold = [ex.label if data.is_classification else "" for ex in examples]
    levels = contrast_levels(gold, max(len(label_set), 1))  # by position without labels

    def one(seed: list[int], query: np.ndarray | None, level: int = 0) -> DemoSet:
        rng = np.random.default_rng(seed)
        demos = select_demos(
            pool,
            run.demos,
            rng,
            label_set=label_set,
            query_embedding=query,
            pool_embeddings=pool_emb,
            dominant=label_set[level] if contrast == "label_skewed" else None,
        )
        return verbalize(demos, label_set, level) if contrast == "verbalizer_swapped" else demos

    if run.demos.scope == "shared":
        query = None
        if ranked:
            mean = embed([ex.text for ex in examples]).mean(0)
            query = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return [one([run.seed, _SHARED_DEMOS], query)] * len(examples)
    return [
        one([run.seed, ex.index], embed([ex.text])[0] if ranked else None, level)
        for ex, level in zip(examples, levels, strict=True)
    ]


def _check_contrast(run: RunConfig, data: Dataset, demo_data: Dataset) -> str:
    """``demos.contrast``, once checked against the tasks: it needs a label set, and a
    label-word mapping needs the inference task's own label words."""
    contrast = run.demos.contrast
    if contrast != "none" and not demo_data.is_classification:
        raise ValueError(f"demos.contrast={contrast} needs a classification demonstration task")
    if contrast == "verbalizer_swapped" and tuple(demo_data.labels) != tuple(data.labels):
        raise ValueError("demos.contrast=verbalizer_swapped needs the inference task's labels")
    return contrast


@dataclass(frozen=True)
class AdapterPlan:
    """One adapter: tuned on one demonstration set, run on the examples that share it."""

    members: list[int]  # positions of the inference examples sharing this demonstration set
    seed: int  # init seed (the shuffled-label twin starts from the same init)
    demos: list[Demo]
    pairs: list[TrainingPair]  # (prompt ids, target ids) per demonstration
    shuffled: list[Demo] | None = None  # the shuffled-label twin's demonstrations
    shuffled_pairs: list[TrainingPair] | None = None

    @property
    def tuned_tokens_per_step(self) -> int:
        """Tokens one full-batch tuning step runs: every pair's prompt and target."""
        return sum(len(p) + len(t) for p, t in self.pairs)


@dataclass(frozen=True)
class RunPlan:
    """Everything a run computes, before any model work."""

    run: RunConfig
    data: Dataset
    demo_data: Dataset
    examples: list[Example]
    demo_sets: list[DemoSet]  # per example
    anchor_prompts: list[Prompt]  # per example
    icl_prompts: list[Prompt]  # per example
    label_ids: list[int]  # first token of each label (classification), else []
    pad: int
    lora: LoraSpec  # run.lora with the run's step budget as max_steps
    adapters: list[AdapterPlan]
    batched: bool  # adapters trained together (multi_lora), else one at a time with peft
    controls: list[str]  # the IT-shaped controls this run extracts
    groups: list[list[int]]  # adapters trained and run together

    @property
    def n(self) -> int:
        """Inference examples in the run."""
        return len(self.examples)

    @property
    def anchor_ids(self) -> list[list[int]]:
        """Token ids of each example's anchor prompt."""
        return [p.ids for p in self.anchor_prompts]

    @property
    def icl_ids(self) -> list[list[int]]:
        """Token ids of each example's ICL prompt."""
        return [p.ids for p in self.icl_prompts]

    @property
    def it_conditions(self) -> list[Condition]:
        """The adapter conditions extracted, in storage order."""
        names = [Condition.IT, *(Control(c).condition for c in self.controls)]
        return names + ([Condition.IT_UNTUNED] if self.run.untuned_adapter else [])

    @property
    def conditions(self) -> list[Condition]:
        """Every condition extracted, in storage order: anchor, ICL, then the adapter conditions."""
        return [Condition.ANCHOR, Condition.ICL, *self.it_conditions]

    @property
    def skipped_controls(self) -> list[str]:
        """Requested IT controls this run cannot compute (they need the batched path; the
        cross-adapter one two demonstration sets), recorded with the run."""
        return sorted(set(self.run.it_controls) - set(self.controls))

    @cached_property
    def adapter_of(self) -> list[int]:
        """The adapter of each inference example."""
        of = [0] * self.n
        for j, adapter in enumerate(self.adapters):
            for i in adapter.members:
                of[i] = j
        return of

    @property
    def labels(self) -> np.ndarray:
        """Gold label index per example ([n], -1 for tasks without a label set): the word
        the example's own demonstrations use for its label (``demos.contrast:
        verbalizer_swapped`` maps it; otherwise the label itself)."""
        data = self.data
        if not data.is_classification:
            return np.full(self.n, -1, dtype=np.int64)
        gold = [data.labels.index(ex.label) for ex in self.examples]
        words = [ds.verbalizer for ds in self.demo_sets]
        return np.array(
            [g if w is None else data.labels.index(w[g]) for g, w in zip(gold, words, strict=True)],
            dtype=np.int64,
        )

    @property
    def example_ids(self) -> list[str]:
        """'task:index' of each inference example: the ids stored with the states."""
        return [f"{self.data.name}:{ex.index}" for ex in self.examples]

    @property
    def label_names(self) -> list[str]:
        """The task's labels, in label-index order."""
        return list(self.data.labels)

    # Progress accounting, in one place: units 0 and 1 are the anchor and ICL states; then
    # each adapter group takes its tuning steps plus one unit for its IT (and control) states.
    UNITS_BEFORE_TUNING = 2

    def group_start_unit(self, g: int) -> int:
        """The progress unit at which adapter group ``g`` starts tuning."""
        return self.UNITS_BEFORE_TUNING + g * (self.lora.steps + 1)

    @property
    def work_units(self) -> int:
        """Progress units: anchor, ICL, then per adapter group its tuning steps + IT states."""
        return self.group_start_unit(len(self.groups))

    def group_label(self, g: int) -> str:
        """'adapter 3-5/16': adapter group ``g`` as progress messages name it."""
        group = self.groups[g]
        label = f"adapter {group[0] + 1}" + (f"-{group[-1] + 1}" if len(group) > 1 else "")
        return label + f"/{len(self.adapters)}"

    def group_rows(self, group: list[int]) -> tuple[list[int], list[int]]:
        """A group's inference examples, adapter by adapter, and the adapter of each as an
        index into the group."""
        rows = [i for u in group for i in self.adapters[u].members]
        return rows, [j for j, u in enumerate(group) for _ in self.adapters[u].members]

    @property
    def cross_width(self) -> int:
        """Adapter slots per example in the cross matrix (the largest group), 0 when no
        input runs through the other adapters of its group."""
        return max(map(len, self.groups)) if Control.CROSS_ADAPTER in self.controls else 0

    def report_layer(self, n_layers: int) -> int:
        """The layer the analysis reports at (``report_layer``, clamped; default the final
        norm's output, index n_layers + 1), where the random LoRA is scaled."""
        last = n_layers + 1
        return last if self.run.report_layer is None else min(self.run.report_layer, last)

    def extractions_after_tuning(self, group: list[int]) -> int:
        """Passes over the group's inputs after tuning: IT states, the shuffled twins', the
        random LoRA's scaling rounds, and every input through each adapter of the group."""
        controls = self.controls
        crossed = len(group) if Control.CROSS_ADAPTER in controls and len(group) >= 2 else 0
        rounds = RANDOM_LORA_ROUNDS if Control.RANDOM_LORA in controls else 0
        return 1 + int(Control.SHUFFLED_LABELS in controls) + rounds + crossed


def plan_run(
    run: RunConfig,
    *,
    data: Dataset,
    examples: list[Example],
    demo_data: Dataset,
    demo_sets: list[DemoSet],
    tokenizer: PreTrainedTokenizerBase,
    max_adapters: int,
) -> RunPlan:
    """Lay out ``run`` given its examples and their demonstration sets (``Engine.plan``
    draws those). ``max_adapters``: adapters trained together at most."""
    builder = PromptBuilder(tokenizer, run.template.kind, data.info)
    demos = [
        [Demo(ex.text, lab, demo_data.info) for ex, lab in zip(ds.examples, ds.labels, strict=True)]
        for ds in demo_sets
    ]
    # Adapters: one per distinct demonstration set (shared scope: exactly one).
    members: list[tuple[DemoSet, list[int]]] = []
    for i, ds in enumerate(demo_sets):
        for unit_set, of_set in members:
            if unit_set is ds:
                of_set.append(i)
                break
        else:
            members.append((ds, [i]))
    # Several adapters of one LoRA config: trained and run together (multi_lora); one
    # adapter, or dropout (not batched): peft, one adapter at a time (the reference).
    # The IT-shaped controls need the batched path (they reuse its adapters).
    shuffled = "shuffled_labels" in run.it_controls
    batched = (len(members) > 1 or shuffled) and run.lora.dropout == 0 and max_adapters > 1
    controls = [str(c) for c in run.it_controls if batched]
    if "cross_adapter" in controls and len(members) < 2:
        controls.remove("cross_adapter")  # one demonstration set: nothing to cross with
    adapters = []
    for u, (_, of_set) in enumerate(members):
        own = demos[of_set[0]]
        twin = (
            shuffled_demos(own, demo_data, seed=unit_seed(run.seed, _SHUFFLE, u))
            if "shuffled_labels" in controls
            else None
        )
        adapters.append(
            AdapterPlan(
                members=of_set,
                seed=unit_seed(run.seed, run.lora.seed, examples[of_set[0]].index),
                demos=own,
                pairs=[builder.training_pair(d) for d in own],
                shuffled=twin,
                shuffled_pairs=None if twin is None else [builder.training_pair(d) for d in twin],
            )
        )
    per_group = max(1, max_adapters // (2 if "shuffled_labels" in controls else 1))
    min_group = CROSS_GROUP_MIN if Control.CROSS_ADAPTER in controls else 2
    return RunPlan(
        run=run,
        data=data,
        demo_data=demo_data,
        examples=examples,
        demo_sets=demo_sets,
        anchor_prompts=[builder.anchor(ex.text) for ex in examples],
        icl_prompts=[builder.icl(ex.text, d) for ex, d in zip(examples, demos, strict=True)],
        label_ids=builder.label_token_ids(data.labels) if data.is_classification else [],
        pad=int(tokenizer.pad_token_id),
        # the IT budget: fixed steps, or steps that grow with k (lora.steps_per_demo)
        lora=run.lora.model_copy(update={"max_steps": run.it_steps}),
        adapters=adapters,
        batched=batched,
        controls=controls,
        groups=(
            adapter_groups(len(adapters), max(per_group, min_group), min_group)
            if batched
            else adapter_groups(len(adapters), 1)
        ),
    )

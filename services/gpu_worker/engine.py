"""The experiment engine: one ``RunConfig`` in, hidden states of every condition out.

For each inference example x and its demonstration set D:

    anchor       base model on T(x)
    icl          base model on T(d1) ... T(dk) T(x)
    it           base + LoRA adapter tuned on D, on T(x)

and, as controls that perturb the model as much as tuning does (``it_controls``):

    it_cross     base + the adapter tuned on ANOTHER example's D, on T(x)
    it_shuffled  base + an adapter tuned on D's inputs with shuffled labels (same init)
    it_random    base + a random LoRA with the tuned adapter's per-layer norm ||BA||
    it_untuned   base + the adapter before any step: equals the anchor (identity check)

Hidden states have n_layers + 2 entries per layer axis (embeddings, each block's own
output, the final norm's output; see ``extraction``).

The engine keeps models warm (one load per process and model), computes each anchor once
per (model, prompt ids), batches extraction (left padding, grouped by length, bounded by a
padded-token budget), and checks for cancellation between steps. A run with several
adapters of one LoRA configuration trains them together in one batched pass and runs each
example through its own adapter (``multi_lora``); a single adapter, or LoRA dropout, goes
through peft, one adapter at a time (the reference path). bench/NOTES.md has the figures.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch

from services.common.artifacts import ArtifactStore
from services.common.datasets import Dataset, Example, load_builtin, load_upload, upload_key
from services.common.hidden_states import RunStates
from services.common.settings import Settings, get_settings
from services.common.spec import LoraSpec, RunConfig
from services.gpu_worker.extraction import extract_last_token_states
from services.gpu_worker.models import LoadedModel, load_model, pick_device
from services.gpu_worker.multi_lora import MultiLora, random_lora_like, tune_adapters
from services.gpu_worker.prompts import Demo, PromptBuilder
from services.gpu_worker.selection import (
    DemoSet,
    SentenceEmbedder,
    sample_inference,
    select_demos,
)
from services.gpu_worker.tuning import AdapterSlots, TrainingPair, tune_adapter

Progress = Callable[[float, int, str], None]  # (units done, may be fractional; total; stage)
ShouldCancel = Callable[[], bool]

RANDOM_INIT_SEED = 1234


class Cancelled(Exception):
    """Raised at a step boundary when the caller asked to stop."""


@dataclass
class RunOutput:
    states: RunStates
    prompts: list[dict[str, Any]]
    tuning: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Warm:
    loaded: LoadedModel
    slots: AdapterSlots


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Adds the block's wall time to ``timings[stage]``."""
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t


def _unit_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0] % (2**31 - 1))


_CONDITION_OF = {
    "cross_adapter": "it_cross",
    "shuffled_labels": "it_shuffled",
    "random_lora": "it_random",
}


@dataclass
class _ConditionArrays:
    """Per-condition outputs filled adapter group by adapter group; rows never filled
    (e.g. it_cross in a group of one adapter) stay NaN."""

    hidden: dict[str, np.ndarray]  # condition -> [n, L+2, d]
    logprobs: dict[str, np.ndarray]  # condition -> [n, n_labels]

    @classmethod
    def empty(
        cls, conditions: list[str], n: int, layers: int, d: int, n_labels: int
    ) -> _ConditionArrays:
        return cls(
            {c: np.full((n, layers, d), np.nan, np.float32) for c in conditions},
            {c: np.full((n, n_labels), np.nan, np.float32) for c in conditions},
        )

    def put(self, condition: str, rows: list[int], got: tuple[np.ndarray, np.ndarray]) -> None:
        self.hidden[condition][rows], self.logprobs[condition][rows] = got


def _groups(n_units: int, size: int) -> list[list[int]]:
    """Consecutive groups of at most ``size`` units; a last group of one joins the one
    before it (a cross-adapter control needs two adapters in a group)."""
    groups = [list(range(g, min(g + size, n_units))) for g in range(0, n_units, size)]
    if size > 1 and len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2] += groups.pop()
    return groups


def _shuffled_demos(demos: list[Demo], data: Dataset, seed: int) -> list[Demo]:
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


class Engine:
    """Runs RunConfigs in-process. One instance per worker process; not thread-safe."""

    def __init__(
        self,
        settings: Settings | None = None,
        device: torch.device | None = None,
        batch_size: int = 64,
        anchor_cache_size: int = 4096,
        token_budget: int | None = None,
        train_token_budget: int | None = None,
        max_adapters: int | None = None,
        reuse_prefix: int = 16,
    ):
        """``batch_size`` / ``token_budget``: most prompts / padded tokens per extraction
        forward; ``train_token_budget``: padded tokens per training micro-batch (gradients
        accumulate across them); ``max_adapters``: adapters trained together. The budgets
        bound activation memory, so memory stays flat as runs grow. Defaults by device.
        ``reuse_prefix``: a prefix of at least this many tokens shared by all prompts of an
        extraction (the demonstrations, with ``demos.scope: shared``) is computed once and
        reused through the KV cache; 0 turns this off."""
        self.settings = settings or get_settings()
        self.device = device or pick_device(self.settings)
        gpu = self.device.type == "cuda"
        self.batch_size = batch_size
        self.token_budget = token_budget or (16384 if gpu else 2048)
        self.train_token_budget = train_token_budget or (8192 if gpu else 1024)
        self.max_adapters = max_adapters or (64 if gpu else 16)
        self.reuse_prefix = reuse_prefix
        self._models: dict[tuple[Any, ...], _Warm] = {}
        self._datasets: dict[str, Dataset] = {}
        self._anchor_cache: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = (
            OrderedDict()
        )
        self._anchor_cache_size = anchor_cache_size
        self.embedder = SentenceEmbedder()

    # -- resources ---------------------------------------------------------------------
    def warm(self, run: RunConfig) -> _Warm:
        random_init = run.control == "random_init"
        key = (run.model.name, run.model.revision, run.model.dtype, random_init)
        if key not in self._models:
            loaded = load_model(
                run.model,
                random_init=random_init,
                init_seed=RANDOM_INIT_SEED,
                device=self.device,
                settings=self.settings,
            )
            self._models[key] = _Warm(loaded, AdapterSlots(loaded.model))
        return self._models[key]

    def dataset(self, task: str) -> Dataset:
        if task not in self._datasets:
            if task.startswith("upload:"):
                dataset_id = task.split(":", 1)[1]
                store = ArtifactStore(self.settings.artifacts)
                raw = store.get(upload_key(dataset_id)).decode("utf-8")
                self._datasets[task] = load_upload(dataset_id, raw)
            else:
                self._datasets[task] = load_builtin(task)
        return self._datasets[task]

    # -- demonstration sets ------------------------------------------------------------
    def demo_sets(
        self, run: RunConfig, data: Dataset, examples: list[Example]
    ) -> tuple[Dataset, list[DemoSet]]:
        demo_data = self.dataset(run.demos.source_task or run.data.task)
        taken = {ex.index for ex in examples} if demo_data is data else set()
        pool = [ex for ex in demo_data.examples if ex.index not in taken]
        label_set = demo_data.labels if demo_data.is_classification else ()
        ranked = run.demos.selection != "random"
        pool_emb = self.embedder([ex.text for ex in pool]) if ranked else None
        if run.demos.scope == "shared":
            rng = np.random.default_rng([run.seed, 0x5A])
            query = None
            if ranked:
                mean = self.embedder([ex.text for ex in examples]).mean(0)
                query = mean / max(float(np.linalg.norm(mean)), 1e-12)
            one = select_demos(
                pool,
                run.demos,
                rng,
                label_set=label_set,
                query_embedding=query,
                pool_embeddings=pool_emb,
            )
            return demo_data, [one] * len(examples)
        sets = []
        for ex in examples:
            rng = np.random.default_rng([run.seed, ex.index])
            query = self.embedder([ex.text])[0] if ranked else None
            sets.append(
                select_demos(
                    pool,
                    run.demos,
                    rng,
                    label_set=label_set,
                    query_embedding=query,
                    pool_embeddings=pool_emb,
                )
            )
        return demo_data, sets

    # -- the run -----------------------------------------------------------------------
    def run(
        self,
        run: RunConfig,
        *,
        progress: Progress | None = None,
        should_cancel: ShouldCancel | None = None,
    ) -> RunOutput:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()

        def step(done: float, total: int, stage: str) -> None:
            if should_cancel is not None and should_cancel():
                raise Cancelled(f"cancelled before {stage}")
            if progress is not None:
                progress(done, total, stage)

        warm = self.warm(run)
        loaded, slots, tok = warm.loaded, warm.slots, warm.loaded.tokenizer
        data = self.dataset(run.data.task)
        examples = sample_inference(data, run.inference)
        demo_data, sets = self.demo_sets(run, data, examples)
        builder = PromptBuilder(tok, run.template.kind, data.info)
        label_ids = builder.label_token_ids(data.labels) if data.is_classification else []
        pad = int(tok.pad_token_id)
        timings["setup"] = time.perf_counter() - t0

        # Adapters: one per distinct demonstration set (shared scope: exactly one).
        units: list[tuple[DemoSet, list[int]]] = []
        for i, ds in enumerate(sets):
            for unit_set, members in units:
                if unit_set is ds:
                    members.append(i)
                    break
            else:
                units.append((ds, [i]))
        anchor_prompts = [builder.anchor(ex.text) for ex in examples]
        demos_per_example = [
            [
                Demo(ex.text, lab, demo_data.info)
                for ex, lab in zip(ds.examples, ds.labels, strict=True)
            ]
            for ds in sets
        ]
        icl_prompts = [
            builder.icl(ex.text, demos)
            for ex, demos in zip(examples, demos_per_example, strict=True)
        ]

        # The IT budget: fixed steps, or steps that grow with k (lora.steps_per_demo).
        lora_spec = run.lora.model_copy(update={"max_steps": run.it_steps})
        # Shuffled-label twins: the same demonstration inputs with their labels permuted.
        shuffled = "shuffled_labels" in run.it_controls
        twin_sets = (
            [
                _shuffled_demos(
                    demos_per_example[m[0]], demo_data, seed=_unit_seed(run.seed, 0x5F, i)
                )
                for i, (_, m) in enumerate(units)
            ]
            if shuffled
            else []
        )
        # Several adapters of one LoRA config: trained and run together (multi_lora); one
        # adapter, or dropout (not batched): peft, one adapter at a time (the reference).
        # The IT-shaped controls need the batched path (they reuse its adapters).
        batched = (len(units) > 1 or shuffled) and run.lora.dropout == 0 and self.max_adapters > 1
        controls: list[str] = [str(c) for c in run.it_controls if batched]
        if "cross_adapter" in controls and len(units) < 2:
            controls.remove("cross_adapter")  # one demonstration set: nothing to cross with
        per_group = max(1, self.max_adapters // (2 if "shuffled_labels" in controls else 1))
        groups = _groups(len(units), per_group if batched else 1)
        # progress units: anchor, ICL, then per adapter group its tuning steps + IT states
        group_units = lora_spec.steps + 1
        total = 2 + len(groups) * group_units

        step(0, total, "anchor")
        with _timed(timings, "anchor"), slots.disabled() as base:
            anchor_h, anchor_l = self._anchors(
                run,
                base,
                [p.ids for p in anchor_prompts],
                pad,
                label_ids,
                on_batch=lambda d, n: step(d / n, total, f"anchor {d}/{n}"),
            )

        step(1, total, "icl")
        with _timed(timings, "icl"), slots.disabled() as base:
            icl_h, icl_l = extract_last_token_states(
                base,
                [p.ids for p in icl_prompts],
                pad_id=pad,
                label_token_ids=label_ids,
                batch_size=self.batch_size,
                token_budget=self.token_budget,
                reuse_prefix=self.reuse_prefix,
                on_batch=lambda d, n: step(1 + d / n, total, f"icl {d}/{n}"),
            )

        it_conditions = ["it", *(_CONDITION_OF[c] for c in controls)]
        if run.untuned_adapter:
            it_conditions.append("it_untuned")
        out = _ConditionArrays.empty(
            it_conditions, len(examples), loaded.n_layers + 2, loaded.d_model, len(label_ids)
        )
        n = len(examples)
        tuning: list[dict[str, Any]] = []
        timings["tune"] = timings["it"] = 0.0
        member_ids = [[anchor_prompts[i].ids for i in members] for _, members in units]
        pair_sets = [
            [builder.training_pair(demo) for demo in demos_per_example[members[0]]]
            for _, members in units
        ]
        twin_pairs = [[builder.training_pair(demo) for demo in twin] for twin in twin_sets]
        seeds = [
            _unit_seed(run.seed, run.lora.seed, examples[members[0]].index) for _, members in units
        ]
        for g, group in enumerate(groups):
            label = f"adapter {group[0] + 1}" + (f"-{group[-1] + 1}" if len(group) > 1 else "")
            label += f"/{len(units)}"
            step(2 + g * group_units, total, label)
            on_step = partial(
                lambda e, g, label: step(
                    2 + g * group_units + e + 1, total, f"{label}, step {e + 1}/{lora_spec.steps}"
                ),
                g=g,
                label=label,
            )
            on_extract = partial(
                lambda f, g, label: step(
                    2 + g * group_units + lora_spec.steps + f, total, f"{label}, IT states"
                ),
                g=g,
                label=label,
            )
            if batched:
                losses, twin_losses = self._tune_group(
                    run,
                    lora_spec,
                    loaded,
                    slots,
                    [units[u][1] for u in group],
                    [member_ids[u] for u in group],
                    [pair_sets[u] for u in group],
                    [twin_pairs[u] for u in group] if "shuffled_labels" in controls else None,
                    [seeds[u] for u in group],
                    controls=controls,
                    pad=pad,
                    label_ids=label_ids,
                    anchors=(anchor_h, anchor_l),
                    out=out,
                    timings=timings,
                    on_step=on_step,
                    on_extract=on_extract,
                )
            else:
                (u,) = group
                losses = [
                    self._tune_one(
                        run,
                        lora_spec,
                        slots,
                        units[u][1],
                        member_ids[u],
                        pair_sets[u],
                        seeds[u],
                        pad=pad,
                        label_ids=label_ids,
                        out=out,
                        timings=timings,
                        on_step=on_step,
                        on_extract=on_extract,
                    )
                ]
                twin_losses = None
            for j, (u, unit_losses) in enumerate(zip(group, losses, strict=True)):
                tuning.append(
                    {
                        "adapter": u,
                        "examples": [examples[i].index for i in units[u][1]],
                        "init_seed": seeds[u],
                        "budget": run.lora.budget(len(pair_sets[u])),
                        "steps": len(unit_losses),
                        "losses": unit_losses,
                        "final_loss": unit_losses[-1] if unit_losses else None,
                        "shuffled_labels": [d.label for d in twin_sets[u]] if twin_losses else None,
                        "shuffled_losses": twin_losses[j] if twin_losses else None,
                        "tuned_tokens": sum(len(p) + len(t_) for p, t_ in pair_sets[u])
                        * len(unit_losses),
                    }
                )
        step(total, total, "done")

        conditions = ["anchor", "icl", *it_conditions]
        hidden = [anchor_h, icl_h, *(out.hidden[c] for c in it_conditions)]
        logits = [anchor_l, icl_l, *(out.logprobs[c] for c in it_conditions)]
        final_loss = np.full(n, np.nan)
        for t in tuning:
            for i in units[t["adapter"]][1]:
                final_loss[i] = np.nan if t["final_loss"] is None else t["final_loss"]
        labels = np.array(
            [data.labels.index(ex.label) if data.is_classification else -1 for ex in examples],
            dtype=np.int64,
        )
        states = RunStates(
            hidden=np.stack(hidden, axis=1),
            label_logprobs=np.stack(logits, axis=1),
            labels=labels,
            conditions=conditions,
            example_ids=[f"{data.name}:{ex.index}" for ex in examples],
            label_names=list(data.labels),
            meta={
                "run_key": run.key,
                "model": loaded.info(),
                "template": run.template.kind,
                "task": data.name,
                "demo_task": demo_data.name,
                "it_budget": run.lora.budget(run.demos.k),
                "it_steps": run.it_steps,
                "it_final_loss": [None if np.isnan(x) else float(x) for x in final_loss],
                "it_controls_skipped": sorted(set(run.it_controls) - set(controls)),
            },
        )
        prompts = [
            {
                "example_id": f"{data.name}:{ex.index}",
                "text": ex.text,
                "label": ex.label,
                "demos": [
                    {
                        "example_id": f"{demo_data.name}:{d.index}",
                        "text": d.text,
                        "label": lab,
                        "gold_label": d.label,
                        "flipped": fl,
                    }
                    for d, lab, fl in zip(ds.examples, ds.labels, ds.flipped, strict=True)
                ],
                "demo_similarity": list(ds.similarity) if ds.similarity else None,
                "conditions": {
                    "anchor": {"text": a.text, "token_ids": a.ids},
                    "icl": {"text": c.text, "token_ids": c.ids},
                    "it": {"text": a.text, "token_ids": a.ids, "adapter": u},
                },
            }
            for ex, ds, a, c, u in zip(
                examples,
                sets,
                anchor_prompts,
                icl_prompts,
                [next(j for j, (_, m) in enumerate(units) if i in m) for i in range(n)],
                strict=True,
            )
        ]
        timings["total"] = time.perf_counter() - t0
        return RunOutput(states, prompts, tuning, timings)

    def _tune_one(
        self,
        run: RunConfig,
        lora_spec: LoraSpec,
        slots: AdapterSlots,
        members: list[int],
        prompts: list[list[int]],
        pairs: list[TrainingPair],
        seed: int,
        *,
        pad: int,
        label_ids: list[int],
        out: _ConditionArrays,
        timings: dict[str, float],
        on_step: Callable[[int], None],
        on_extract: Callable[[float], None],
    ) -> list[float]:
        """One adapter with peft: untuned states, tuning, tuned states."""
        model = slots.activate(lora_spec, seed)
        extract = partial(
            extract_last_token_states,
            model,
            prompts,
            pad_id=pad,
            label_token_ids=label_ids,
            batch_size=self.batch_size,
            token_budget=self.token_budget,
        )
        if run.untuned_adapter:
            with _timed(timings, "it"):
                out.put("it_untuned", members, extract())
        with _timed(timings, "tune"):
            losses = tune_adapter(slots, lora_spec, pairs, pad_id=pad, on_step=on_step)
        with _timed(timings, "it"):
            out.put("it", members, extract(on_batch=lambda d, n: on_extract(d / n)))
        return losses

    def _tune_group(
        self,
        run: RunConfig,
        lora_spec: LoraSpec,
        loaded: LoadedModel,
        slots: AdapterSlots,
        members: list[list[int]],
        prompts: list[list[list[int]]],
        pair_sets: list[list[TrainingPair]],
        twin_sets: list[list[TrainingPair]] | None,
        seeds: list[int],
        *,
        controls: list[str],
        pad: int,
        label_ids: list[int],
        anchors: tuple[np.ndarray, np.ndarray],
        out: _ConditionArrays,
        timings: dict[str, float],
        on_step: Callable[[int], None],
        on_extract: Callable[[float], None],
    ) -> tuple[list[list[float]], list[list[float]] | None]:
        """Several adapters trained in one batched pass (with their shuffled-label twins,
        same init), then every example run through its own adapter and through each
        control's adapter in batched forwards."""
        m = len(members)
        rows = [i for group in members for i in group]
        adapter_of = [j for j, group in enumerate(members) for _ in group]
        row_prompts = [p for group in prompts for p in group]
        all_sets = pair_sets + (twin_sets or [])
        with slots.disabled():
            lora = MultiLora(loaded.model, lora_spec, seeds + (seeds if twin_sets else []))

            # the extractions after tuning, for progress: IT, then each control's
            n_after = (
                1
                + sum(c in controls for c in ("shuffled_labels", "random_lora"))
                + int("cross_adapter" in controls and m >= 2)
            )
            done_after = [0]

            def extract(
                adapters: MultiLora, of_row: list[int], after: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
                k = done_after[0]
                done_after[0] += int(after)
                with _timed(timings, "it"):
                    return extract_last_token_states(
                        loaded.model,
                        row_prompts,
                        pad_id=pad,
                        label_token_ids=label_ids,
                        batch_size=self.batch_size,
                        token_budget=self.token_budget,
                        batch_context=lambda idx: adapters.rows([of_row[i] for i in idx]),
                        on_batch=(lambda d, n: on_extract((k + d / n) / n_after))
                        if after
                        else None,
                    )

            if run.untuned_adapter:
                if lora.is_identity():  # B = 0: the zero-step adapter is the base model
                    out.put("it_untuned", rows, (anchors[0][rows], anchors[1][rows]))
                else:
                    out.put("it_untuned", rows, extract(lora, adapter_of, after=False))
            with _timed(timings, "tune"):
                losses = tune_adapters(
                    loaded.model,
                    lora,
                    all_sets,
                    pad_id=pad,
                    token_budget=self.train_token_budget,
                    on_step=on_step,
                )
            out.put("it", rows, extract(lora, adapter_of))
            if "shuffled_labels" in controls:
                out.put("it_shuffled", rows, extract(lora, [j + m for j in adapter_of]))
            if "cross_adapter" in controls and m >= 2:
                # each example through the next demonstration set's adapter
                out.put("it_cross", rows, extract(lora, [(j + 1) % m for j in adapter_of]))
            if "random_lora" in controls:
                rand = random_lora_like(loaded.model, lora, list(range(m)), seed=seeds[0] + 1)
                out.put("it_random", rows, extract(rand, adapter_of))
        return losses[:m], (losses[m:] if twin_sets else None)

    def _anchors(
        self,
        run: RunConfig,
        model: Any,
        prompts: list[list[int]],
        pad: int,
        label_ids: list[int],
        on_batch: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Anchor states, each computed once per (model, prompt ids, label ids)."""
        mkey = (run.model.name, run.model.revision, run.model.dtype, run.control)
        keys = [(mkey, tuple(p), tuple(label_ids)) for p in prompts]
        missing = [i for i, k in enumerate(keys) if k not in self._anchor_cache]
        if missing:
            h, lg = extract_last_token_states(
                model,
                [prompts[i] for i in missing],
                pad_id=pad,
                label_token_ids=label_ids,
                batch_size=self.batch_size,
                token_budget=self.token_budget,
                reuse_prefix=self.reuse_prefix,
                on_batch=on_batch,
            )
            for j, i in enumerate(missing):
                self._anchor_cache[keys[i]] = (h[j], lg[j])
                while len(self._anchor_cache) > self._anchor_cache_size:
                    self._anchor_cache.popitem(last=False)
        for k in keys:
            self._anchor_cache.move_to_end(k)
        return (
            np.stack([self._anchor_cache[k][0] for k in keys]),
            np.stack([self._anchor_cache[k][1] for k in keys]),
        )

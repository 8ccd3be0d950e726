"""The experiment engine: one ``RunConfig`` in, hidden states of every condition out.

For each inference example x and its demonstration set D:

    anchor       base model on T(x)
    icl          base model on T(d1) ... T(dk) T(x)
    it           base + LoRA adapter tuned on D, on T(x)

and, as controls that perturb the model as much as tuning does (``it_controls``):

    cross        base + EVERY adapter of x's group, on T(x) (``cross_hidden``; it_cross,
                 the next example's adapter, is one slot of it)
    it_shuffled  base + an adapter tuned on D's inputs with shuffled labels (same init)
    it_random    base + a random LoRA scaled until its state shift matches IT's
    it_untuned   base + the adapter before any step: equals the anchor (identity check)

Hidden states have n_layers + 2 entries per layer axis (embeddings, each block's own
output, the final norm's output; see ``extraction``). With ``causal.enabled``, the shifts
are then patched into zero-shot passes (the task-vector check, ``patching``).

What a run computes is decided first (``plan.RunPlan``); the engine executes the plan in
the model's precision (``precision``). It keeps models warm, computes each anchor once per
(model, prompt ids), batches extraction (left padding, grouped by length, bounded by a
padded-token budget), and checks for cancellation between steps. Adapters of one LoRA
configuration train together in one batched pass (``multi_lora``); a single adapter, or
LoRA dropout, goes through peft (the reference path). bench/NOTES.md has the figures.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from services.common.runtime.settings import Settings, get_settings
from services.common.spec import DataSpec, RunConfig
from services.common.storage.datasets import Dataset
from services.common.storage.hf_datasets import data_key, load_data
from services.common.storage.hidden_states import RunStates
from services.gpu_worker.adapter_export import (
    AdapterSaver,
    multi_lora_state,
    peft_state,
)
from services.gpu_worker.adapter_states import TunedGroup, extract_tuned_group
from services.gpu_worker.conditions import (
    ConditionArrays,
    States,
    assemble,
    prompt_records,
    tuning_record,
)
from services.gpu_worker.extraction import StatesCache, extract_last_token_states
from services.gpu_worker.models import LoadedModel, load_model, pick_device
from services.gpu_worker.multi_lora import MultiLora, tune_adapters
from services.gpu_worker.patching import patch_shifts
from services.gpu_worker.plan import RunPlan, choose_demo_sets, plan_run
from services.gpu_worker.run_progress import (
    Cancelled,
    Group,
    OnTuning,
    Progress,
    ShouldCancel,
    Steps,
    TuningLog,
    timed,
)
from services.gpu_worker.selection import SentenceEmbedder, sample_inference
from services.gpu_worker.tuning import AdapterSlots, tune_adapter

__all__ = ["RANDOM_INIT_SEED", "Cancelled", "Engine", "RunOutput", "WarmModel"]

RANDOM_INIT_SEED = 1234


@dataclass
class RunOutput:
    """What a run computed: its states, each example's prompts, each adapter's tuning record,
    and the wall time per stage."""

    states: RunStates
    prompts: list[dict[str, Any]]
    tuning: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    tune_steps: int = 0  # optimizer steps run (one per batched step of a group)
    adapters: AdapterSaver | None = None  # the tuned adapters the run saves


@dataclass
class WarmModel:
    """A loaded base model and its peft adapter slots, kept across runs."""

    loaded: LoadedModel
    slots: AdapterSlots


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
        self._models: dict[tuple[Any, ...], WarmModel] = {}
        self._datasets: dict[str, Dataset] = {}
        self._anchor_cache = StatesCache(anchor_cache_size)  # per (model, prompt, label ids)
        self.embedder = SentenceEmbedder()

    # -- resources ---------------------------------------------------------------------
    @staticmethod
    def _model_key(run: RunConfig) -> tuple[Any, ...]:
        return (run.model.name, run.model.revision, run.model.dtype, run.control == "random_init")

    def warm(self, run: RunConfig) -> WarmModel:
        """The model for ``run`` (name, revision, dtype, random init), loaded on first use and kept
        for later runs."""
        key = self._model_key(run)
        if key not in self._models:
            loaded = load_model(
                run.model,
                random_init=run.control == "random_init",
                init_seed=RANDOM_INIT_SEED,
                device=self.device,
                settings=self.settings,
            )
            self.keep_warm(run, loaded)
        return self._models[key]

    def keep_warm(self, run: RunConfig, loaded: LoadedModel) -> WarmModel:
        """Use ``loaded`` for ``run``'s model from now on (e.g. one built in memory)."""
        warm = self._models[self._model_key(run)] = WarmModel(loaded, AdapterSlots(loaded.model))
        return warm

    def dataset(self, task: str, data: DataSpec | None = None) -> Dataset:
        """The dataset of ``task`` (or of ``data.hf``), read once per engine."""
        key = data_key(task, data)
        if key not in self._datasets:
            self._datasets[key] = load_data(task, data, self.settings)
        return self._datasets[key]

    # -- the run -----------------------------------------------------------------------
    def plan(self, run: RunConfig, tokenizer: PreTrainedTokenizerBase) -> RunPlan:
        """The run laid out (examples, demonstration sets, prompts, adapters, groups)."""
        data = self.dataset(run.data.task, run.data)
        examples = sample_inference(data, run.inference)
        demo_data = self.dataset(run.demos.source_task) if run.demos.source_task else data
        return plan_run(
            run,
            data=data,
            examples=examples,
            demo_data=demo_data,
            demo_sets=choose_demo_sets(run, data, examples, demo_data, self.embedder),
            tokenizer=tokenizer,
            max_adapters=self.max_adapters,
        )

    def execute(
        self,
        run: RunConfig,
        *,
        progress: Progress | None = None,
        should_cancel: ShouldCancel | None = None,
        on_tuning: OnTuning | None = None,
    ) -> RunOutput:
        """plan -> anchor states -> ICL states -> per adapter group: tune, extract the IT
        states (and the controls') -> assemble. ``on_tuning`` hears every tuning step's
        losses (``run_progress.TuningStep``)."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        warm = self.warm(run)
        plan = self.plan(run, warm.loaded.tokenizer)
        timings["setup"] = time.perf_counter() - t0
        step = Steps(plan.work_units, progress, should_cancel)
        log = TuningLog(len(plan.groups), plan.lora.steps, on_tuning)
        saver = AdapterSaver(run.lora.save_adapters, len(plan.adapters))
        with warm.loaded.compute():  # matmuls in the model's precision (autocast if mixed)
            anchor = self._anchor_states(plan, warm, step, timings)
            icl = self._icl_states(plan, warm, step, timings)
            out, tuning = self._tune_and_extract(plan, warm, anchor, step, timings, log, saver)
            states = assemble(plan, warm.loaded.info(), anchor, icl, out, tuning)
            if run.causal.enabled:  # the task-vector check (patching.py)
                patch_shifts(states, warm.slots, plan, timings, self.batch_size, self.token_budget)
        step(step.total, "done")
        timings["total"] = time.perf_counter() - t0
        return RunOutput(states, prompt_records(plan), tuning, timings, log.steps_done, saver)

    def _anchor_states(
        self, plan: RunPlan, warm: WarmModel, step: Steps, timings: dict[str, float]
    ) -> States:
        """Anchor states, each computed once per (model, prompt ids, label ids)."""
        step(0, "anchor")
        spec = plan.run.model
        mkey = (spec.name, spec.revision, spec.dtype, plan.run.control)
        keys = [(mkey, tuple(p), tuple(plan.label_ids)) for p in plan.anchor_ids]
        with timed(timings, "anchor"), warm.slots.disabled() as base:
            return self._anchor_cache.get(
                keys,
                lambda missing: extract_last_token_states(
                    base,
                    [plan.anchor_ids[i] for i in missing],
                    pad_id=plan.pad,
                    label_token_ids=plan.label_ids,
                    batch_size=self.batch_size,
                    token_budget=self.token_budget,
                    reuse_prefix=self.reuse_prefix,
                    on_batch=lambda d, n: step(d / n, f"anchor {d}/{n}"),
                ),
            )

    def _icl_states(
        self, plan: RunPlan, warm: WarmModel, step: Steps, timings: dict[str, float]
    ) -> States:
        step(1, "icl")
        with timed(timings, "icl"), warm.slots.disabled() as base:
            return extract_last_token_states(
                base,
                plan.icl_ids,
                pad_id=plan.pad,
                label_token_ids=plan.label_ids,
                batch_size=self.batch_size,
                token_budget=self.token_budget,
                reuse_prefix=self.reuse_prefix,
                on_batch=lambda d, n: step(1 + d / n, f"icl {d}/{n}"),
            )

    def _tune_and_extract(
        self,
        plan: RunPlan,
        warm: WarmModel,
        anchor: States,
        step: Steps,
        timings: dict[str, float],
        log: TuningLog,
        saver: AdapterSaver,
    ) -> tuple[ConditionArrays, list[dict[str, Any]]]:
        """Adapter group by adapter group: tune, then extract the IT states (and the
        controls'). Returns every adapter condition's states and the tuning records."""
        loaded = warm.loaded
        out = ConditionArrays.for_plan(plan, loaded.n_layers, loaded.d_model)
        tuning: list[dict[str, Any]] = []
        timings["tune"] = timings["it"] = 0.0
        for g, adapters in enumerate(plan.groups):
            label, first = plan.group_label(g), plan.group_start_unit(g)
            step(first, label)
            rows, adapter_of = plan.group_rows(adapters)
            group = Group(
                plan, g, adapters, rows, adapter_of, out, saver, timings, step, log, first, label
            )
            it_before = timings["it"]
            if plan.batched:
                losses, twin_losses = self._tune_group(group, warm, anchor)
            else:
                losses, twin_losses = [self._tune_one(group, warm.slots)], None
            log.extracted(timings["it"] - it_before)
            for j, (u, unit_losses) in enumerate(zip(adapters, losses, strict=True)):
                twin = twin_losses[j] if twin_losses else None
                tuning.append(tuning_record(plan, u, unit_losses, twin))
        return out, tuning

    def _tune_one(self, group: Group, slots: AdapterSlots) -> list[float]:
        """One adapter with peft: untuned states, tuning, tuned states."""
        (u,) = group.adapters
        plan, adapter, out, timings = group.plan, group.plan.adapters[u], group.out, group.timings
        model = slots.activate(plan.lora, adapter.seed)
        if plan.run.untuned_adapter:
            out.put("it_untuned", adapter.members, self._it_states(group, model))
        with timed(timings, "tune"):
            group.log.start()
            losses = tune_adapter(
                slots, plan.lora, adapter.pairs, pad_id=plan.pad, on_loss=group.on_loss
            )
        group.saver.add(u, lambda: peft_state(slots, plan.lora))
        states = self._it_states(group, model, on_batch=lambda d, n: group.on_extract(d / n))
        out.put("it", adapter.members, states)
        return losses

    def _tune_group(
        self, group: Group, warm: WarmModel, anchor: States
    ) -> tuple[list[list[float]], list[list[float]] | None]:
        """Several adapters trained in one batched pass (with their shuffled-label twins,
        same init), then every example run through its own adapter and through each
        control's adapter in batched forwards."""
        plan, rows, m = group.plan, group.rows, len(group.adapters)
        adapters = [plan.adapters[u] for u in group.adapters]
        twins = [a.shuffled_pairs for a in adapters if a.shuffled_pairs is not None]
        seeds = [a.seed for a in adapters]
        model = warm.loaded.model
        with warm.slots.disabled():
            lora = MultiLora(model, plan.lora, seeds + (seeds if twins else []))
            if plan.run.untuned_adapter:
                if lora.is_identity():  # B = 0: the zero-step adapter is the base model
                    untuned = (anchor[0][rows], anchor[1][rows])
                else:
                    untuned = self._it_states(group, model, lora.routing(group.adapter_of))
                group.out.put("it_untuned", rows, untuned)
            with timed(group.timings, "tune"):
                group.log.start()
                losses = tune_adapters(
                    model,
                    lora,
                    [a.pairs for a in adapters] + twins,
                    pad_id=plan.pad,
                    token_budget=self.train_token_budget,
                    on_loss=group.on_loss,
                )
            for j, u in enumerate(group.adapters):
                group.saver.add(u, functools.partial(multi_lora_state, lora, j))
            self._extract_group(group, model, lora, seeds[0], anchor)
        return losses[:m], (losses[m:] if twins else None)

    def _extract_group(
        self, group: Group, model: nn.Module, lora: MultiLora, seed: int, anchor: States
    ) -> None:
        """IT states through each example's own tuned adapter, through every adapter of
        its group, then each control's (``adapter_states``)."""
        tuned = TunedGroup(
            group.plan,
            group.adapters,
            group.rows,
            group.adapter_of,
            anchor,
            group.out,
            lambda rows, ctx, on_batch: self._it_states(group, model, ctx, on_batch, rows),
            group.on_extract,
        )
        extract_tuned_group(tuned, lora, model, seed)

    def _it_states(
        self,
        group: Group,
        model: nn.Module,
        batch_context: Callable[[list[int]], AbstractContextManager[None]] | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        rows: list[int] | None = None,
    ) -> States:
        """The anchor prompts of ``rows`` (default: the group's examples) through ``model``."""
        prompts = group.plan.anchor_prompts
        with timed(group.timings, "it"):
            return extract_last_token_states(
                model,
                [prompts[i].ids for i in (group.rows if rows is None else rows)],
                pad_id=group.plan.pad,
                label_token_ids=group.plan.label_ids,
                batch_size=self.batch_size,
                token_budget=self.token_budget,
                batch_context=batch_context,
                on_batch=on_batch,
            )

"""A run's outputs, gathered condition by condition and assembled for storage.

``ConditionArrays`` collects the adapter conditions' states group by group; ``assemble``
turns a plan and every condition's states into the stored ``RunStates``, the prompt
records (what each condition saw, token for token) and the tuning records.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.common.spec import Control
from services.common.storage.hidden_states import Condition, RunStates
from services.gpu_worker.plan import RunPlan

States = tuple[np.ndarray, np.ndarray]  # hidden [n, L+2, d], label log-probs [n, n_labels]


# Per-example figures of the random-LoRA control recorded in the run's meta (engine):
# the IT and random-LoRA state-shift norms at the report layer, the shift norm of the
# random LoRA before scaling (its ||BA|| matched to the tuned adapter's, per layer), the
# scale applied to that weight-matched version, and the rounds each input's scaling took.
ROW_FIGURES = (
    "it_state_norm",
    "random_lora_state_norm",
    "random_lora_weight_matched_state_norm",
    "random_lora_scale",
    "random_lora_rounds",
)


@dataclass
class ConditionArrays:
    """Per-condition outputs filled adapter group by adapter group; rows never filled
    (e.g. it_cross in a group of one adapter) stay NaN. ``cross_*``: every input through
    every adapter of its group, ``width`` slots per example (None without that control)."""

    hidden: dict[str, np.ndarray]  # condition -> [n, L+2, d]
    logprobs: dict[str, np.ndarray]  # condition -> [n, n_labels]
    figures: dict[str, np.ndarray]  # ROW_FIGURES name -> [n]
    cross_hidden: np.ndarray | None = None  # [n, width, L+2, d]
    cross_logprobs: np.ndarray | None = None  # [n, width, n_labels]
    cross_adapter: np.ndarray | None = None  # [n, width] example of each slot's adapter

    @classmethod
    def empty(
        cls,
        conditions: list[Condition],
        n: int,
        layers: int,
        d: int,
        n_labels: int,
        width: int = 0,
    ) -> ConditionArrays:
        """NaN-filled arrays for ``conditions`` over n examples, and a cross matrix ``width``
        slots wide when width > 0 (its adapters -1: padding)."""
        out = cls(
            {c: np.full((n, layers, d), np.nan, np.float32) for c in conditions},
            {c: np.full((n, n_labels), np.nan, np.float32) for c in conditions},
            {f: np.full(n, np.nan) for f in ROW_FIGURES},
        )
        if width:
            out.cross_hidden = np.full((n, width, layers, d), np.nan, np.float32)
            out.cross_logprobs = np.full((n, width, n_labels), np.nan, np.float32)
            out.cross_adapter = np.full((n, width), -1, np.int64)
        return out

    @classmethod
    def for_plan(cls, plan: RunPlan, n_layers: int, d_model: int) -> ConditionArrays:
        """Empty arrays for every adapter condition of ``plan`` (and its cross matrix)."""
        n_labels = len(plan.label_ids)
        return cls.empty(
            plan.it_conditions, plan.n, n_layers + 2, d_model, n_labels, plan.cross_width
        )

    def put(self, condition: str, rows: list[int], got: States) -> None:
        """Store ``got`` (states, label log-probs) of ``condition`` at the examples ``rows``."""
        self.hidden[condition][rows], self.logprobs[condition][rows] = got

    def put_cross(self, rows: list[int], slot_examples: list[int], got: States) -> None:
        """``got``: [len(rows) * m, ...], row-major (row r through slot j at r * m + j);
        slot j's adapter was tuned on example ``slot_examples[j]``'s demonstrations."""
        assert self.cross_hidden is not None and self.cross_logprobs is not None
        assert self.cross_adapter is not None
        m = len(slot_examples)
        h, lp = got
        self.cross_hidden[rows, :m] = h.reshape(len(rows), m, *h.shape[1:])
        self.cross_logprobs[rows, :m] = lp.reshape(len(rows), m, *lp.shape[1:])
        self.cross_adapter[rows, :m] = slot_examples


def tuning_record(
    plan: RunPlan, u: int, losses: list[float], shuffled_losses: list[float] | None
) -> dict[str, Any]:
    """What tuning adapter ``u`` did: seed, budget, losses (and its shuffled twin's)."""
    adapter = plan.adapters[u]
    return {
        "adapter": u,
        "examples": [plan.examples[i].index for i in adapter.members],
        "init_seed": adapter.seed,
        "budget": plan.run.lora.budget(len(adapter.pairs)),
        "steps": len(losses),
        "losses": losses,
        "final_loss": losses[-1] if losses else None,
        "shuffled_labels": (
            [d.label for d in adapter.shuffled]
            if shuffled_losses is not None and adapter.shuffled is not None
            else None
        ),
        "shuffled_losses": shuffled_losses,
        "tuned_tokens": adapter.tuned_tokens_per_step * len(losses),
    }


def assemble(
    plan: RunPlan,
    model_info: dict[str, Any],
    anchor: States,
    icl: States,
    out: ConditionArrays,
    tuning: list[dict[str, Any]],
) -> RunStates:
    """Every condition's states, stacked [n, conditions, L+2, d], with the run's metadata."""
    run = plan.run
    its = plan.it_conditions
    final_loss = np.full(plan.n, np.nan)
    for t in tuning:
        for i in plan.adapters[t["adapter"]].members:
            final_loss[i] = np.nan if t["final_loss"] is None else t["final_loss"]
    return RunStates(
        hidden=np.stack([anchor[0], icl[0], *(out.hidden[c] for c in its)], axis=1),
        label_logprobs=np.stack([anchor[1], icl[1], *(out.logprobs[c] for c in its)], axis=1),
        labels=plan.labels,
        conditions=plan.conditions,
        example_ids=plan.example_ids,
        label_names=plan.label_names,
        meta={
            "run_key": run.key,
            "model": model_info,
            "template": run.template.kind,
            "task": plan.data.name,
            "demo_task": plan.demo_data.name,
            "it_budget": run.lora.budget(run.demos.k),
            "it_steps": run.it_steps,
            "it_final_loss": [None if np.isnan(x) else float(x) for x in final_loss],
            "it_controls_skipped": plan.skipped_controls,
            "it_loss_curve": loss_curve(tuning),
            **_figures_meta(plan, out),
        },
        cross_hidden=out.cross_hidden,
        cross_label_logprobs=out.cross_logprobs,
        cross_adapter=out.cross_adapter,
    )


def loss_curve(tuning: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """The run's tuning loss per step (1-based), over its adapters: mean, min and max of
    the adapters still tuning at that step (an early stop leaves a step to the rest)."""
    width = max((len(t["losses"]) for t in tuning), default=0)
    table = np.full((len(tuning), width), np.nan)
    for row, t in enumerate(tuning):
        table[row, : len(t["losses"])] = t["losses"]
    curve: dict[str, list[float | None]] = {"step": list(range(1, width + 1))}
    for name, reduce in (("mean", np.nanmean), ("min", np.nanmin), ("max", np.nanmax)):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN step (diverged)
            values = reduce(table, axis=0) if width else np.zeros(0)
        curve[name] = [None if np.isnan(x) else float(x) for x in values]
    return curve


def _figures_meta(plan: RunPlan, out: ConditionArrays) -> dict[str, Any]:
    """The random-LoRA figures per example (None where not computed), and the layer."""
    if Control.RANDOM_LORA not in plan.controls:
        return {}
    figures = {
        name: [None if np.isnan(x) else float(x) for x in values]
        for name, values in out.figures.items()
    }
    return {**figures, "random_lora_layer": plan.report_layer(plan_layers(out))}


def plan_layers(out: ConditionArrays) -> int:
    """n_layers of the stored states (the layer axis holds n_layers + 2 entries)."""
    return next(iter(out.hidden.values())).shape[1] - 2


def prompt_records(plan: RunPlan) -> list[dict[str, Any]]:
    """Per example: its text, demonstrations and the exact prompt of each condition."""
    demo_task = plan.demo_data.name
    return [
        {
            "example_id": example_id,
            "text": ex.text,
            "label": ex.label,
            "demos": [
                {
                    "example_id": f"{demo_task}:{d.index}",
                    "text": d.text,
                    "label": lab,
                    "gold_label": d.label,
                    "flipped": fl,
                }
                for d, lab, fl in zip(ds.examples, ds.labels, ds.flipped, strict=True)
            ],
            "demo_similarity": list(ds.similarity) if ds.similarity else None,
            "dominant_label": ds.dominant_label,  # demos.contrast: label_skewed
            # demos.contrast: verbalizer_swapped: the word its demonstrations use per label
            "verbalizer": (
                dict(zip(plan.label_names, ds.verbalizer, strict=True)) if ds.verbalizer else None
            ),
            "conditions": {
                "anchor": {"text": a.text, "token_ids": a.ids},
                "icl": {"text": c.text, "token_ids": c.ids},
                "it": {"text": a.text, "token_ids": a.ids, "adapter": u},
            },
        }
        for example_id, ex, ds, a, c, u in zip(
            plan.example_ids,
            plan.examples,
            plan.demo_sets,
            plan.anchor_prompts,
            plan.icl_prompts,
            plan.adapter_of,
            strict=True,
        )
    ]

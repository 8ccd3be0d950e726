"""A run's outputs, gathered condition by condition and assembled for storage.

``ConditionArrays`` collects the adapter conditions' states group by group; ``assemble``
turns a plan and every condition's states into the stored ``RunStates``, the prompt
records (what each condition saw, token for token) and the tuning records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from services.common.storage.hidden_states import Condition, RunStates
from services.gpu_worker.plan import RunPlan

States = tuple[np.ndarray, np.ndarray]  # hidden [n, L+2, d], label log-probs [n, n_labels]


@dataclass
class ConditionArrays:
    """Per-condition outputs filled adapter group by adapter group; rows never filled
    (e.g. it_cross in a group of one adapter) stay NaN."""

    hidden: dict[str, np.ndarray]  # condition -> [n, L+2, d]
    logprobs: dict[str, np.ndarray]  # condition -> [n, n_labels]

    @classmethod
    def empty(
        cls, conditions: list[Condition], n: int, layers: int, d: int, n_labels: int
    ) -> ConditionArrays:
        return cls(
            {c: np.full((n, layers, d), np.nan, np.float32) for c in conditions},
            {c: np.full((n, n_labels), np.nan, np.float32) for c in conditions},
        )

    def put(self, condition: str, rows: list[int], got: States) -> None:
        self.hidden[condition][rows], self.logprobs[condition][rows] = got


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
        },
    )


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

"""RunPlan: what a run computes (adapters, seeds, groups, controls), decided before any
model work, and exactly what the engine then runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from services.common.spec import ExperimentSpec, RunConfig, expand_runs
from services.gpu_worker.engine import Engine
from services.gpu_worker.plan import (
    RunPlan,
    adapter_groups,
    plan_run,
    shuffled_demos,
    unit_seed,
)
from services.gpu_worker.prompts import Demo

IT_CONTROLS = ["cross_adapter", "shuffled_labels", "random_lora"]


def _run(tiny_dir, **overrides) -> RunConfig:
    body = {
        "model": {"name": str(tiny_dir)},
        "inference": {"n": 4, "seed": 1},
        "demos": {"k": 3},
        "lora": {"epochs": 3, "lr": 5e-3},
        "controls": ["untuned_adapter", *IT_CONTROLS],
        **overrides,
    }
    return expand_runs(ExperimentSpec.model_validate(body))[0]


def _seed_before_plan(run: RunConfig, example_index: int) -> int:
    """The adapter init seed as Engine.run derived it before RunPlan existed."""
    parts = [run.seed, run.lora.seed, example_index]
    return int(np.random.SeedSequence(parts).generate_state(1)[0] % (2**31 - 1))


@pytest.fixture(scope="module")
def tokenizer(engine, tiny_dir):
    return engine.warm(_run(tiny_dir)).loaded.tokenizer


@pytest.fixture(scope="module")
def plan(engine, tiny_dir, tokenizer) -> RunPlan:
    return engine.plan(_run(tiny_dir), tokenizer)


def _replan(plan: RunPlan, tokenizer, max_adapters: int) -> RunPlan:
    """The same examples and demonstration sets, planned for another engine size."""
    return plan_run(
        plan.run,
        data=plan.data,
        examples=plan.examples,
        demo_data=plan.demo_data,
        demo_sets=plan.demo_sets,
        tokenizer=tokenizer,
        max_adapters=max_adapters,
    )


def test_one_adapter_per_example_with_the_engines_seeds(plan: RunPlan) -> None:
    run = plan.run
    assert plan.n == 4 and len(plan.adapters) == 4
    assert [a.members for a in plan.adapters] == [[0], [1], [2], [3]]
    assert plan.adapter_of == [0, 1, 2, 3]
    want = [_seed_before_plan(run, ex.index) for ex in plan.examples]
    assert [a.seed for a in plan.adapters] == want
    assert len(set(want)) == 4
    for a, ds in zip(plan.adapters, plan.demo_sets, strict=True):
        assert len(a.demos) == len(a.pairs) == run.demos.k == 3
        assert [d.text for d in a.demos] == [ex.text for ex in ds.examples]
        assert [d.label for d in a.demos] == list(ds.labels)
        assert all(p and t for p, t in a.pairs)  # prompt ids and target ids


def test_groups_controls_and_conditions(plan: RunPlan) -> None:
    assert plan.batched and plan.groups == [[0, 1, 2, 3]]
    assert plan.controls == IT_CONTROLS and plan.skipped_controls == []
    assert plan.it_conditions == ["it", "it_cross", "it_shuffled", "it_random", "it_untuned"]
    assert plan.conditions[:2] == ["anchor", "icl"]
    assert plan.lora.steps == plan.run.it_steps == 3
    assert plan.work_units == 2 + 1 * (3 + 1)  # anchor, ICL, one group: 3 steps + IT states
    assert plan.extractions_after_tuning([0, 1, 2, 3]) == 4  # IT, shuffled, cross, random
    assert plan.group_label(0) == "adapter 1-4/4"
    assert plan.group_rows([1, 2]) == ([1, 2], [0, 1])


def test_shuffled_twins_keep_the_inputs_and_move_labels(plan: RunPlan) -> None:
    for u, a in enumerate(plan.adapters):
        assert a.shuffled is not None and a.shuffled_pairs is not None
        assert [d.text for d in a.shuffled] == [d.text for d in a.demos]
        assert sorted(d.label for d in a.shuffled) == sorted(d.label for d in a.demos)
        if len({d.label for d in a.demos}) > 1:
            assert [d.label for d in a.shuffled] != [d.label for d in a.demos]
        again = shuffled_demos(a.demos, plan.demo_data, unit_seed(plan.run.seed, 0x5F, u))
        assert again == a.shuffled


def test_prompts_share_the_anchors_query_tokens(plan: RunPlan) -> None:
    assert len(plan.label_ids) == len(plan.label_names) == len(set(plan.label_ids))
    assert plan.example_ids == [f"{plan.data.name}:{ex.index}" for ex in plan.examples]
    assert plan.labels.tolist() == [plan.data.labels.index(ex.label) for ex in plan.examples]
    for anchor, icl in zip(plan.anchor_ids, plan.icl_ids, strict=True):
        assert len(icl) > len(anchor)


def test_shared_scope_is_one_adapter_and_nothing_to_cross(engine, tiny_dir, tokenizer) -> None:
    plan = engine.plan(_run(tiny_dir, demos={"k": 2, "scope": "shared"}), tokenizer)
    assert len(plan.adapters) == 1 and plan.adapters[0].members == [0, 1, 2, 3]
    assert plan.adapter_of == [0, 0, 0, 0]
    assert plan.adapters[0].seed == _seed_before_plan(plan.run, plan.examples[0].index)
    assert plan.batched  # a shuffled-label twin trains alongside
    assert plan.controls == ["shuffled_labels", "random_lora"]
    assert plan.skipped_controls == ["cross_adapter"]
    assert "it_cross" not in plan.it_conditions


def test_one_adapter_at_a_time_runs_no_it_controls(plan: RunPlan, tokenizer) -> None:
    one = _replan(plan, tokenizer, max_adapters=1)
    assert not one.batched and one.groups == [[0], [1], [2], [3]]
    assert one.controls == [] and one.skipped_controls == sorted(IT_CONTROLS)
    assert one.it_conditions == ["it", "it_untuned"]
    assert all(a.shuffled is None for a in one.adapters)
    assert [a.seed for a in one.adapters] == [a.seed for a in plan.adapters]
    assert one.work_units == 2 + 4 * (3 + 1)


def test_shuffled_twins_halve_the_adapters_per_group(plan: RunPlan, tokenizer) -> None:
    four = _replan(plan, tokenizer, max_adapters=4)  # 2 adapters + their 2 twins
    assert four.batched and four.groups == [[0, 1], [2, 3]]
    assert four.group_label(1) == "adapter 3-4/4"
    no_twins = plan.run.model_copy(update={"it_controls": ["cross_adapter"]})
    assert _replan(dataclasses.replace(plan, run=no_twins), tokenizer, 4).groups == [[0, 1, 2, 3]]


def test_dropout_goes_through_peft_one_adapter_at_a_time(engine, tiny_dir, tokenizer) -> None:
    plan = engine.plan(_run(tiny_dir, lora={"epochs": 2, "dropout": 0.1}), tokenizer)
    assert not plan.batched and plan.controls == [] and len(plan.groups) == 4


def test_the_engine_runs_the_plan(engine, tiny_dir, plan: RunPlan) -> None:
    out = engine.execute(plan.run)
    assert [t["init_seed"] for t in out.tuning] == [a.seed for a in plan.adapters]
    assert [t["adapter"] for t in out.tuning] == [0, 1, 2, 3]
    assert out.states.conditions == plan.conditions
    assert out.states.example_ids == plan.example_ids
    for i, p in enumerate(out.prompts):
        assert p["conditions"]["anchor"]["token_ids"] == plan.anchor_ids[i]
        assert p["conditions"]["icl"]["token_ids"] == plan.icl_ids[i]
        assert p["conditions"]["it"]["adapter"] == plan.adapter_of[i]
    for t, a in zip(out.tuning, plan.adapters, strict=True):
        assert t["shuffled_labels"] == [d.label for d in a.shuffled or []]


def test_unit_seed_is_stable() -> None:
    assert unit_seed(0, 0, 0) == unit_seed(0, 0, 0)
    assert unit_seed(1, 2, 3) != unit_seed(1, 2, 4)
    assert 0 <= unit_seed(7, 0x5F, 2) < 2**31 - 1


def test_adapter_groups() -> None:
    assert adapter_groups(4, 16) == [[0, 1, 2, 3]]
    assert adapter_groups(4, 1) == [[0], [1], [2], [3]]
    assert adapter_groups(4, 2) == [[0, 1], [2, 3]]
    assert adapter_groups(1, 4) == [[0]]
    # a last group of one joins the one before it (every adapter exactly once)
    assert adapter_groups(5, 4) == [[0, 1, 2, 3, 4]]
    assert adapter_groups(9, 4) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]
    assert adapter_groups(3, 2) == [[0, 1, 2]]


def test_a_last_adapter_alone_joins_the_group_before(engine, tiny_dir, tokenizer) -> None:
    plan = engine.plan(_run(tiny_dir, inference={"n": 5, "seed": 2}), tokenizer)
    four = _replan(plan, tokenizer, max_adapters=4)  # 2 adapters + twins per group
    assert four.groups == [[0, 1], [2, 3, 4]]
    assert sorted(u for g in four.groups for u in g) == list(range(5))
    small = Engine(settings=engine.settings, device=engine.device, max_adapters=4)
    out = small.execute(plan.run)
    assert [t["adapter"] for t in out.tuning] == [0, 1, 2, 3, 4]  # each tuned once
    assert np.isfinite(out.states.hidden).all()


def test_shuffled_demos_of_one_label_take_another_label(plan: RunPlan) -> None:
    task = plan.demo_data.info
    one = [Demo("a fine film", plan.demo_data.labels[0], task)]
    (moved,) = shuffled_demos(one, plan.demo_data, seed=3)
    assert moved.text == "a fine film" and moved.label != one[0].label

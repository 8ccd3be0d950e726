from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from services.common.spec import MAX_RUNS, ExperimentSpec, expand_runs


def test_sweep_expands_grid_times_seeds_plus_controls() -> None:
    spec = ExperimentSpec(
        sweep={"demos.k": [1, 2, 4], "demos.label_noise": [0.0, 1.0]},
        seeds=[0, 1],
        controls=["untuned_adapter", "random_init"],
    )
    runs = expand_runs(spec)
    main = [r for r in runs if r.control == "none"]
    assert len(main) == 3 * 2 * 2
    assert {(r.factors["demos.k"], r.factors["demos.label_noise"]) for r in main} == {
        (k, n) for k in (1, 2, 4) for n in (0.0, 1.0)
    }
    # one random-init control per model, per seed
    assert [r.control for r in runs].count("random_init") == 2
    assert all(r.untuned_adapter for r in main)
    assert len({r.key for r in runs}) == len(runs)
    # swept values land in the resolved config
    assert all(r.demos.k == r.factors["demos.k"] for r in main)


def test_runs_shared_by_studies_are_computed_once() -> None:
    spec = ExperimentSpec(
        studies=[
            {"name": "a", "sweep": {"demos.k": [2, 4]}},
            {"name": "b", "sweep": {"demos.label_noise": [0.0, 0.5]}},
        ],
        demos={"k": 4},
        controls=[],
    )
    runs = expand_runs(spec)
    assert len(runs) == 3  # (k=4, noise=0) is shared
    shared = [r for r in runs if len(r.studies) == 2]
    assert len(shared) == 1
    assert shared[0].factors == {"demos.k": 4, "demos.label_noise": 0.0}


def test_same_seed_same_key_and_cell_groups_seeds() -> None:
    a = expand_runs(ExperimentSpec(seeds=[0, 1], controls=[]))
    b = expand_runs(ExperimentSpec(seeds=[0, 1], controls=[]))
    assert [r.key for r in a] == [r.key for r in b]
    assert a[0].key != a[1].key and a[0].cell == a[1].cell


@pytest.mark.parametrize(
    ("body", "loc", "needle"),
    [
        ({"demos": {"k": 0}}, ("demos", "k"), "greater than or equal"),
        ({"demos": {"label_noise": 1.5}}, ("demos", "label_noise"), "less than or equal"),
        ({"lora": {"target_modules": ["q_proj; rm -rf"]}}, ("lora", "target_modules"), "invalid"),
        ({"model": {"name": "../../etc"}}, ("model", "name"), ".."),
        ({"data": {"task": "../secret"}}, ("data", "task"), "pattern"),
        ({"sweep": {"model.revision": ["x"]}}, ("sweep",), "cannot sweep"),
        ({"bogus": 1}, ("bogus",), "Extra inputs"),
    ],
)
def test_bad_specs_name_their_field(body: dict, loc: tuple, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(body)
    errors = info.value.errors()
    assert any(tuple(e["loc"][: len(loc)]) == loc and needle in e["msg"] for e in errors), errors


def test_invalid_sweep_value_is_named() -> None:
    # each value is validated by its field before any point is expanded
    with pytest.raises(ValidationError, match=r"sweep 'demos.k'\[1\] = 0: .*greater than"):
        ExperimentSpec(sweep={"demos.k": [1, 0]})


def test_run_limit() -> None:
    with pytest.raises(ValidationError, match="max"):
        ExperimentSpec(
            sweep={"demos.k": list(range(1, 33)), "lora.r": list(range(1, 33))}, seeds=[0]
        )
    assert MAX_RUNS >= 256


def test_duan2023_preset_has_every_study_and_user_fields_win() -> None:
    spec = ExperimentSpec(preset="duan2023", scale="smoke", inference={"n": 3})
    names = [s.name for s in spec.studies]
    assert names == [
        "main",
        "n_demos",
        "similarity",
        "label_noise",
        "task_mismatch",
        "template",
        "it_budget",
        "demo_specificity",
        "model",
    ]
    assert spec.inference.n == 3
    budget = next(s for s in spec.studies if s.name == "it_budget")
    assert budget.overrides == {"lora.steps_per_demo": 2}
    k_steps = {(r.demos.k, r.it_steps) for r in expand_runs(spec) if "it_budget" in r.studies}
    assert k_steps == {(1, 2), (4, 8)}  # the IT budget grows with k
    runs = expand_runs(spec)
    assert any(r.control == "random_init" for r in runs)
    assert any(r.demos.source_task == "translation_en_fr" for r in runs)


def test_demo_specificity_study_sweeps_the_contrast() -> None:
    spec = ExperimentSpec(preset="duan2023", scale="smoke")
    runs = [r for r in expand_runs(spec) if "demo_specificity" in r.studies]
    assert {r.demos.contrast for r in runs} == {"none", "label_skewed", "verbalizer_swapped"}
    (none,) = [r for r in runs if r.demos.contrast == "none"]
    assert "main" in none.studies  # the uncontrasted level is the main cell, run once


def test_contrast_needs_one_set_per_example() -> None:
    with pytest.raises(ValidationError, match="per_example"):
        ExperimentSpec(demos={"contrast": "label_skewed", "scope": "shared"})


def test_cell_and_key_come_from_the_resolved_number_of_steps() -> None:
    """it_budget k = 4 (2 steps x 4 demonstrations) and main (8 epochs) are one
    configuration: one run in both studies, one cell."""
    spec = ExperimentSpec(preset="duan2023", scale="default")
    runs = [r for r in expand_runs(spec) if r.control == "none"]
    both = [r for r in runs if {"main", "it_budget"} <= set(r.studies)]
    assert len(both) == len(spec.seeds) == 2
    assert all(r.it_steps == 8 and r.demos.k == 4 for r in both)
    cells = {r.cell for r in both}
    k4 = [r for r in runs if "it_budget" in r.studies and r.demos.k == 4]
    assert {r.key for r in k4} == {r.key for r in both}
    assert len(cells) == 1 and {r.cell for r in k4} == cells
    # another budget is another cell
    other = [r for r in runs if "it_budget" in r.studies and r.demos.k == 2]
    assert other and other[0].cell not in cells and other[0].it_steps == 4
    a = expand_runs(ExperimentSpec(lora={"max_steps": 8}, controls=[]))
    b = expand_runs(ExperimentSpec(lora={"steps_per_demo": 2}, demos={"k": 4}, controls=[]))
    c = expand_runs(ExperimentSpec(lora={"epochs": 8}, controls=[]))
    assert a[0].key == b[0].key == c[0].key and a[0].cell == b[0].cell == c[0].cell


def test_keys_of_plain_epoch_runs_are_the_hash_they_always_were() -> None:
    """New options at their defaults (demos.contrast: none, report_layer: None, the data.hf
    fields) and what only decides the files kept (lora.save_adapters) leave the key and cell
    of a plain-epochs run as the raw configuration hash (earlier runs)."""
    (run,) = expand_runs(ExperimentSpec(controls=["cross_adapter"]))
    body = run.model_dump(mode="json", exclude={"key", "studies", "factors", "report_layer"})
    body["demos"].pop("contrast")
    body["lora"].pop("save_adapters")
    assert body["data"].pop("split") == "train" and body["data"].pop("hf") is None
    body["data"] = {"task": body["data"]["task"]}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert run.key == hashlib.sha256(raw.encode()).hexdigest()[:16]
    body.pop("seed")
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert run.cell == hashlib.sha256(raw.encode()).hexdigest()[:16]
    (layered,) = expand_runs(ExperimentSpec(controls=["cross_adapter"], report_layer=3))
    assert layered.report_layer == 3 and layered.key != run.key
    (unsaved,) = expand_runs(
        ExperimentSpec(controls=["cross_adapter"], lora={"save_adapters": "none"})
    )
    assert unsaved.lora.save_adapters == "none" and unsaved.key == run.key


def test_spec_issues_are_every_problem_once_with_suggestions() -> None:
    """Issue 20: one pass over a spec gives every problem, located and said once."""
    from services.common.spec.diagnose import SpecInvalid, spec_issues, validate_spec

    spec = {
        "demoss": {"k": 2},
        "template": {"kind": "chatt"},
        "studies": [
            {"name": "a", "sweep": {"lora.rr": [1]}, "overrides": {"demos.kk": 2}},
            {"name": "b", "sweep": {"lora.r": [4, "4"]}},
        ],
    }
    valid, issues = spec_issues(spec)
    assert valid is None
    by_path = {i.path: i.msg for i in issues}
    assert set(by_path) == {
        "demoss",
        "template.kind",
        "studies.0.sweep.lora.rr",
        "studies.0.overrides.demos.kk",
        "studies.1.sweep.lora.r",
    }, by_path
    assert "did you mean 'demos'?" in by_path["demoss"]
    assert "did you mean 'chat'?" in by_path["template.kind"]
    assert "did you mean 'lora.r'?" in by_path["studies.0.sweep.lora.rr"]
    assert "did you mean 'demos.k'?" in by_path["studies.0.overrides.demos.kk"]
    assert "repeats a value" in by_path["studies.1.sweep.lora.r"]
    assert len({(i.loc, i.msg) for i in issues}) == len(issues)
    with pytest.raises(SpecInvalid) as raised:
        validate_spec(spec)
    assert raised.value.issues == issues
    assert validate_spec({"demos": {"k": 2}}).demos.k == 2

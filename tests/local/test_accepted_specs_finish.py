"""Property: a spec the service accepts can run to the end (issue 19).

Hypothesis generates spec bodies the way a client might write them: names with dots,
sweep values spelled as ints, floats and strings (" 1", "+1", "01"), factors that are
or are not swept, tasks that do and do not exist, any subset of controls and metrics.
Each body goes through what submit applies (``ExperimentSpec`` and the API's
``check_catalog``); a refusal there is fine. Every accepted one must then
survive, without an exception:

- storing the spec as JSON and validating it again (what the workers read) unchanged;
- planning every run on the tiny model's tokenizer (``Engine.plan``: examples,
  demonstration sets, prompts, adapters) and the artefact key of each run file;
- the analysis of synthetic states shaped like each plan (per run), then the experiment's
  results (valid against results.schema.json), figures and report, and the artefact key
  of every file the analysis worker stores.

``MAX_EXAMPLES`` specs are generated, derandomised (the same ones every run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.common.spec import ALL_METRICS, ExperimentSpec, expand_runs
from services.common.storage.hidden_states import RunStates

MAX_EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "60"))
MAX_RUNS_PER_EXAMPLE = 4  # keeps the property near a minute of CPU
D_MODEL = 8
SCHEMA = Path(__file__).parents[2] / "services/common/schemas/results.schema.json"
CONTROLS = ["cross_adapter", "shuffled_labels", "random_lora", "random_init", "untuned_adapter"]


def _spellings(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value as a client might write it: itself, or a float or string spelling of it."""

    def spell(v: Any) -> st.SearchStrategy[Any]:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return st.just(v)
        return st.sampled_from([v, float(v), str(v), f" {v}", f"+{v}", f"0{v}"])

    return values.flatmap(spell)


SWEEP_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "demos.k": _spellings(st.integers(0, 5)),
    "inference.n": _spellings(st.integers(0, 5)),
    "demos.selection": st.sampled_from(["random", "most_similar", "least_similar", "best"]),
    "demos.label_noise": _spellings(st.sampled_from([0, 0.25, 0.5, 1, 1.5])),
    "demos.source_task": st.sampled_from([None, "sentiment", "topic", "translation_en_fr", "nope"]),
    "demos.scope": st.sampled_from(["per_example", "shared"]),
    "data.task": st.sampled_from(["sentiment", "topic", "translation_en_fr", "no_such"]),
    "template.kind": st.sampled_from(["plain", "chat"]),
    "lora.r": _spellings(st.integers(0, 4)),
    "lora.alpha": _spellings(st.sampled_from([1, 8, 16.5])),
    "lora.epochs": _spellings(st.integers(0, 2)),
    "lora.steps_per_demo": _spellings(st.integers(0, 2)),
    "lora.max_steps": _spellings(st.integers(0, 2)),
    "lora.loss_on": st.sampled_from(["label", "sequence", "all"]),
    "lora.target_modules": st.sampled_from([["q_proj"], ["q_proj", "v_proj"], ["k_proj"], []]),
}
NAMES = st.text(alphabet="ab1._-", min_size=1, max_size=6)


@st.composite
def study(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(st.lists(st.sampled_from(sorted(SWEEP_VALUES)), max_size=2, unique=True))
    sweep = {f: draw(st.lists(SWEEP_VALUES[f], min_size=1, max_size=3)) for f in fields}
    body: dict[str, Any] = {"name": draw(NAMES), "sweep": sweep}
    factor = draw(st.one_of(st.none(), st.sampled_from([*fields, "demos.k", "$\\x$"])))
    if factor is not None:
        body["factor"] = factor
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(SWEEP_VALUES)))
        body["overrides"] = {key: draw(SWEEP_VALUES[key])}
    return body


@st.composite
def spec_body(draw: st.DrawFn, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": draw(NAMES),
        "model": {"name": model},
        "data": {"task": draw(st.sampled_from(["sentiment", "topic", "translation_en_fr"]))},
        "inference": {"n": draw(st.integers(1, 5)), "seed": draw(st.integers(0, 3))},
        "demos": {"k": draw(st.integers(1, 4))},
        "lora": {"epochs": 1},
        "controls": draw(st.lists(st.sampled_from(CONTROLS), max_size=3, unique=True)),
        "seeds": draw(st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True)),
        "metrics": draw(
            st.lists(st.sampled_from(ALL_METRICS), min_size=1, max_size=2, unique=True)
        ),
        "report_layer": draw(st.one_of(st.none(), st.integers(0, 6))),
    }
    if draw(st.booleans()):
        body["studies"] = draw(st.lists(study(), min_size=1, max_size=2))
    else:
        fields = draw(st.lists(st.sampled_from(sorted(SWEEP_VALUES)), max_size=2, unique=True))
        body["sweep"] = {f: draw(st.lists(SWEEP_VALUES[f], min_size=1, max_size=3)) for f in fields}
    return body


def _accepted(body: dict[str, Any], engine_settings: Any) -> ExperimentSpec | None:
    """The spec when submit would accept it (the spec model and the API's checks)."""
    from services.api.errors import Invalid
    from services.api.experiments.checks import check_catalog

    try:
        spec = ExperimentSpec.model_validate(body)
        expand_runs(spec)
        check_catalog(None, "owner", spec, engine_settings)  # type: ignore[arg-type]  # builtin tasks only
    except (ValueError, Invalid):  # pydantic's ValidationError is a ValueError
        return None
    return spec


def states_like(plan: Any, n_layers: int, seed: int) -> RunStates:
    """Synthetic hidden states with the shape and conditions a plan's run stores: every
    condition a noisy shift of the anchor."""
    rng = np.random.default_rng(seed)
    n, conds = plan.n, plan.conditions
    anchor = rng.normal(size=(n, 1, n_layers + 2, D_MODEL)) + 3.0
    hidden = anchor + rng.normal(size=(n, len(conds), n_layers + 2, D_MODEL))
    hidden[:, 0] = anchor[:, 0]
    logits = rng.normal(size=(n, len(conds), len(plan.label_names)))
    logprobs = logits - np.log(np.exp(logits).sum(-1, keepdims=True) + 1.0)
    return RunStates(
        hidden=hidden.astype(np.float32),
        label_logprobs=logprobs.astype(np.float32),
        labels=plan.labels,
        conditions=list(conds),
        example_ids=plan.example_ids,
        label_names=plan.label_names,
    )


def run_to_the_end(spec: ExperimentSpec, engine: Any, tokenizer: Any, n_layers: int) -> None:
    """What the workers do with an accepted spec, on synthetic states (raises on failure)."""
    import jsonschema

    from services.analysis.pipeline import analyze_experiment, analyze_run
    from services.common.storage import layout

    stored = json.loads(json.dumps(spec.model_dump(mode="json")))
    assert ExperimentSpec.model_validate(stored) == spec  # what the workers read back
    experiment_id = "0" * 32
    analyses = []
    for i, run in enumerate(expand_runs(spec)):
        plan = engine.plan(run, tokenizer)
        for name in (*layout.RUN_FILES, layout.ANALYSIS_FILE):
            layout.run_file_key(experiment_id, f"{i:032x}", name)
        analyses.append(analyze_run(run, states_like(plan, n_layers, i), spec.metrics))
    out = analyze_experiment(spec, analyses)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(out.results)
    for path in out.files:
        layout.experiment_file_key(experiment_id, path)


@pytest.fixture(scope="module")
def tokenizer(tiny_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dir)


def test_every_accepted_spec_plans_and_analyses(engine, engine_settings, tiny_dir, tokenizer):
    n_layers = json.loads((tiny_dir / "config.json").read_text())["num_hidden_layers"]
    seen = {"generated": 0, "accepted": 0}

    @given(body=spec_body(str(tiny_dir)))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def accepted_specs_finish(body: dict[str, Any]) -> None:
        seen["generated"] += 1
        spec = _accepted(body, engine_settings)
        assume(spec is not None and len(expand_runs(spec)) <= MAX_RUNS_PER_EXAMPLE)
        assert spec is not None
        seen["accepted"] += 1
        run_to_the_end(spec, engine, tokenizer, n_layers)

    accepted_specs_finish()
    print(f"PROPERTY generated={seen['generated']} accepted={seen['accepted']}")
    assert seen["accepted"] >= MAX_EXAMPLES  # max_examples counts accepted (non-assumed) ones

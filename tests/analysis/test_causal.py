"""The task-vector check's analysis (analysis/causal.py) on synthetic causal arrays, through
the real per-run and summary code, checked against plain numpy."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from services.analysis.causal import headline_layer, run_causal
from services.analysis.per_run import run_similarities
from services.analysis.report import render_report_html
from services.analysis.summarize import summarize_experiment
from services.analysis.vocabulary import fmt_num, fmt_p
from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.hidden_states import (
    ALL_CAUSAL_AXES,
    CAUSAL_AXES,
    CONDITIONS,
    RunStates,
)

SCHEMA_PATH = Path(__file__).parents[2] / "services/common/schemas/results.schema.json"
N_EX, N_LAYERS, D, N_CROSS = 10, 6, 8, 3
LAYERS = [2, 4, 6]  # patched blocks


def causal_arrays(seed: int, own_gain: float) -> dict[str, np.ndarray]:
    """KL of the patched pass to each reference: cross partners at ~1.0, the own shift
    lower by ``own_gain`` (0: no demonstration-specific effect). The own ICL shift puts
    its mass on the right label, the cross shifts on label 0."""
    rng = np.random.default_rng(seed)
    shape = (N_EX, len(LAYERS), 2, 1 + N_CROSS, 2)
    kl = 1.0 + 0.1 * rng.standard_normal(shape)
    kl[:, :, :, 0, :] -= own_gain
    labels = np.arange(N_EX) % 2
    lp = np.full((N_EX, len(LAYERS), 2, 1 + N_CROSS, 2), np.log(0.05))
    lp[:, :, :, 1:, 0] = np.log(0.6)  # cross: label 0, mass 0.65
    lp[np.arange(N_EX), :, :, 0, labels] = np.log(0.9)  # own: right label, mass 0.95
    partner = (np.arange(N_EX)[:, None] + np.arange(1 + N_CROSS)[None, :]) % N_EX
    unpatched = np.abs(rng.standard_normal((N_EX, 3, 2))) + np.array([[2.0], [0.0], [0.5]])
    return {
        "causal_layers": np.array(LAYERS, dtype=np.int64),
        "causal_partner": partner.astype(np.int64),
        "causal_label_logprobs": lp.astype(np.float32),
        "causal_kl": np.clip(kl, 0, None).astype(np.float32),
        "causal_kl_unpatched": unpatched.astype(np.float32),
    }


def states_with(causal: dict[str, np.ndarray], seed: int = 0) -> RunStates:
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((N_EX, len(CONDITIONS), N_LAYERS + 2, D)).astype(np.float32)
    return RunStates(
        hidden=hidden,
        label_logprobs=np.log(np.full((N_EX, len(CONDITIONS), 2), 0.4, np.float32)),
        labels=(np.arange(N_EX) % 2).astype(np.int64),
        conditions=list(CONDITIONS),
        example_ids=[f"ex{i}" for i in range(N_EX)],
        label_names=["negative", "positive"],
        meta={"causal_head_check_max_abs": 1e-6, "causal_layers_skipped": [9]},
        causal=causal,
    )


def summarize(causal_by_seed: list[dict[str, np.ndarray] | None]) -> dict:
    spec = ExperimentSpec(
        name="causal",
        inference={"n": N_EX},
        seeds=list(range(len(causal_by_seed))),
        controls=[],
        causal={"enabled": True, "layers": LAYERS, "cross": N_CROSS},
    )
    runs = []
    for rc, causal in zip(expand_runs(spec), causal_by_seed, strict=True):
        states = states_with(causal or {}, seed=rc.seed)
        runs.append(run_similarities(rc.model_dump(mode="json"), states, list(spec.metrics)))
    return summarize_experiment(spec, runs)


def test_states_file_round_trip_keeps_the_causal_arrays_and_old_files_load() -> None:
    arrays = causal_arrays(0, 0.3)
    back = RunStates.from_bytes(states_with(arrays).to_bytes())
    assert set(back.causal) == set(CAUSAL_AXES)
    for name, a in arrays.items():
        np.testing.assert_array_equal(back.causal[name], a)
        assert back.causal[name].dtype == a.dtype
    old = RunStates.from_bytes(states_with({}).to_bytes())
    assert old.causal == {} and run_causal(old) is None


def test_per_run_values_match_plain_numpy() -> None:
    arrays = causal_arrays(1, 0.3)
    got = run_causal(states_with(arrays))
    assert got is not None and got["layers"] == LAYERS and got["n_cross"] == N_CROSS
    assert got["layer_names"] == ["block_2", "block_4", "block_6"]
    kl, lp = arrays["causal_kl"], arrays["causal_label_logprobs"]
    # shift it (index 1), reference icl (index 0): own partner 0, cross mean over 1..
    np.testing.assert_allclose(got["patched"]["it"]["own"]["kl_icl"], kl[:, :, 1, 0, 0])
    np.testing.assert_allclose(
        got["patched"]["it"]["cross"]["kl_icl"], kl[:, :, 1, 1:, 0].mean(-1), rtol=1e-6
    )
    mass = np.exp(lp[:, :, 0, 1:].astype(np.float64)).sum(-1).mean(-1)
    np.testing.assert_allclose(got["patched"]["icl"]["cross"]["label_mass"], mass, rtol=1e-6)
    np.testing.assert_allclose(got["patched"]["icl"]["own"]["label_mass"], 0.95, rtol=1e-5)
    np.testing.assert_allclose(got["patched"]["icl"]["cross"]["label_mass"], 0.65, rtol=1e-5)
    np.testing.assert_array_equal(got["patched"]["icl"]["own"]["accuracy"], 1.0)
    # cross puts the argmax on label 0: right for even examples only
    expected = (np.arange(N_EX) % 2 == 0).astype(float)[:, None] * np.ones(len(LAYERS))
    np.testing.assert_array_equal(got["patched"]["icl"]["cross"]["accuracy"], expected)
    np.testing.assert_allclose(
        got["unpatched"]["anchor"]["kl_it"], arrays["causal_kl_unpatched"][:, 0, 1]
    )


def test_cell_summary_detects_a_planted_own_shift_effect_and_validates() -> None:
    results = summarize([causal_arrays(2, 0.3), causal_arrays(3, 0.3)])
    jsonschema.validate(results, json.loads(SCHEMA_PATH.read_text()))
    (cell,) = results["cells"]
    c = cell["causal"]
    assert c["layers"] == LAYERS and c["n_examples"] == N_EX and c["layers_skipped"] == [9]
    # the report layer (final norm, 7) was not patched: the deepest block before the last
    assert c["headline_layer"] == 4
    for shift in ("icl", "it"):
        for k in range(len(LAYERS)):
            t = c["own_vs_cross"][shift]["kl_it"][k]
            assert t["n"] == N_EX and t["p_value"] < 0.01 and t["mean_diff"] < -0.2
    # the test's mean difference is the seed-averaged own - cross, by plain numpy
    a, b = causal_arrays(2, 0.3)["causal_kl"], causal_arrays(3, 0.3)["causal_kl"]
    per_seed = [x[:, 1, 0, 0, 1] - x[:, 1, 0, 1:, 1].mean(-1) for x in (a, b)]
    expected = float(np.mean(np.mean(per_seed, axis=0)))
    assert c["own_vs_cross"]["icl"]["kl_it"][1]["mean_diff"] == pytest.approx(expected, 1e-5)
    assert "Task-vector check at layer 4 (block_4" in c["statement"]
    assert "own - cross" in c["statement"] and "p=" in c["statement"]


def test_no_planted_effect_is_not_significant_at_most_layers() -> None:
    results = summarize([causal_arrays(4, 0.0)])
    c = results["cells"][0]["causal"]
    ps = [
        t["p_value"]
        for s in ("icl", "it")
        for m in ("kl_icl", "kl_it")
        for t in c["own_vs_cross"][s][m]
    ]
    assert sum(p < 0.05 for p in ps) <= 2, ps  # 12 null tests at alpha 0.05


def test_runs_without_the_check_give_a_null_causal_object() -> None:
    results = summarize([None])
    jsonschema.validate(results, json.loads(SCHEMA_PATH.read_text()))
    assert results["cells"][0]["causal"] is None


def test_headline_layer_rule() -> None:
    assert headline_layer([3, 6, 9], report_layer=6, n_layers=12) == 6
    assert headline_layer([3, 6, 12], report_layer=13, n_layers=12) == 6
    assert headline_layer([12], report_layer=13, n_layers=12) == 12


def test_report_shows_the_check_per_patched_layer() -> None:
    results = summarize([causal_arrays(5, 0.3)])
    html = render_report_html(results, figures={})
    assert "Task-vector check (activation patching)" in html
    for name in ("block_2", "block_4", "block_6"):
        assert f'<td class="l">{name.split("_")[1]} {name}</td>' in html
    assert "KL(ICL || IT)" in html
    no_check = render_report_html(summarize([None]), figures={})
    assert "Task-vector check" not in no_check


N_ADAPTERS = 4  # other examples' adapters each input's IT shift went through


def with_adapters(arrays: dict[str, np.ndarray], seed: int, demo_gain: float) -> dict:
    """``arrays`` plus the demonstration-specific version: each input's IT shift through
    other examples' adapters. Its KLs are the own IT shift's plus ``demo_gain`` (what the
    example's own demonstrations add, the input held fixed) and noise; label log-probs are
    the own IT shift's."""
    rng = np.random.default_rng(seed)
    own = arrays["causal_kl"][:, :, 1, :1, :].astype(np.float64)  # [n, Lp, 1, R]
    noise = 0.1 * rng.standard_normal((N_EX, len(LAYERS), N_ADAPTERS, 2))
    lp = np.repeat(arrays["causal_label_logprobs"][:, :, 1, :1], N_ADAPTERS, axis=2)
    partner = (np.arange(N_EX)[:, None] + 1 + np.arange(N_ADAPTERS)[None, :]) % N_EX
    return arrays | {
        "causal_adapter_partner": partner.astype(np.int64),
        "causal_adapter_label_logprobs": lp.astype(np.float32),
        "causal_adapter_kl": np.clip(own + demo_gain + noise, 0, None).astype(np.float32),
    }


def test_adapter_arrays_round_trip_and_per_run_values_match_numpy() -> None:
    arrays = with_adapters(causal_arrays(6, 0.3), 6, 0.2)
    back = RunStates.from_bytes(states_with(arrays).to_bytes())
    assert set(back.causal) == set(ALL_CAUSAL_AXES)
    for name, a in arrays.items():
        np.testing.assert_array_equal(back.causal[name], a)
    got = run_causal(back)
    assert got is not None and got["n_cross_adapter"] == N_ADAPTERS
    side = got["patched"]["it"]["cross_adapter"]
    kl = arrays["causal_adapter_kl"].astype(np.float64)
    np.testing.assert_allclose(side["kl_icl"], kl[..., 0].mean(-1), rtol=1e-6)
    np.testing.assert_allclose(side["kl_it"], kl[..., 1].mean(-1), rtol=1e-6)
    assert "cross_adapter" not in got["patched"]["icl"]  # ICL has no adapter to swap
    assert run_causal(states_with(causal_arrays(6, 0.3)))["n_cross_adapter"] == 0


def test_own_vs_other_adapters_finds_a_planted_demonstration_effect_and_validates() -> None:
    results = summarize([with_adapters(causal_arrays(7, 0.3), 7, 0.25)])
    jsonschema.validate(results, json.loads(SCHEMA_PATH.read_text()))
    c = results["cells"][0]["causal"]
    assert c["n_cross_adapter"] == N_ADAPTERS
    for t in c["own_vs_cross_adapter"]["kl_icl"]:
        assert t["n"] == N_EX and t["p_value"] < 0.01 and t["mean_diff"] < -0.15
        assert t["mde"] is not None and 0 < t["mde"] < 0.25
    assert "Demonstration-specific version (same input, other demonstrations)" in c["statement"]
    assert "significantly lower through its own adapter" in c["statement"]
    html = render_report_html(results, figures={})
    assert "KL to ICL own / other adapters" in html and "(p=" in html


def test_an_input_only_effect_is_not_demonstration_specific() -> None:
    """Own beats other examples' shifts (input and demonstrations both change) by 0.3, but
    other adapters on the same input do as well as its own: own vs cross is significant,
    own vs other adapters is not, at most layers."""
    results = summarize([with_adapters(causal_arrays(8, 0.3), 8, 0.0)])
    c = results["cells"][0]["causal"]
    assert all(t["p_value"] < 0.01 for t in c["own_vs_cross"]["it"]["kl_icl"])
    adapters = [t["p_value"] for t in c["own_vs_cross_adapter"]["kl_icl"]]
    assert sum(p < 0.05 for p in adapters) <= 1, adapters
    assert "no detectable difference" in c["statement"]


def test_without_the_adapter_version_the_cell_has_none() -> None:
    c = summarize([causal_arrays(9, 0.3)])["cells"][0]["causal"]
    assert "own_vs_cross_adapter" not in c and "Demonstration-specific" not in c["statement"]
    html = render_report_html(summarize([causal_arrays(9, 0.3)]), figures={})
    assert "<td>-</td></tr>" in html  # the column says there is nothing to show


def test_replication_doc_tabulates_the_check_per_cell() -> None:
    from scripts.replication import render

    results = summarize([with_adapters(causal_arrays(10, 0.3), 10, 0.25)])
    text = render(results, "icl-it run ...")
    assert "## Task-vector check (activation patching)" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| ") and "| 4 |" in line]
    cells = [x.strip() for x in row.strip("|").split("|")]
    c = results["cells"][0]["causal"]
    t = c["own_vs_cross_adapter"]["kl_icl"][1]  # headline block 4 = patched position 1
    assert cells[4].endswith(f"(p={fmt_p(t['p_value'])}, mde {fmt_num(t['mde'])})")
    assert cells[5] == str(N_EX)
    assert c["statement"] in text
    assert "## Task-vector check" not in render(summarize([None]), "icl-it run ...")

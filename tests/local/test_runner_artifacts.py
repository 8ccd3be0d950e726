"""The in-process runner's outputs: similarities recomputable from the stored artifacts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.hidden_states import RunStates
from services.local.runner import run_experiment


@pytest.fixture(scope="module")
def run_dir(engine, tiny_dir, tmp_path_factory):
    spec = ExperimentSpec(
        model={"name": str(tiny_dir)},
        inference={"n": 5, "seed": 2},
        demos={"k": 2},
        lora={"epochs": 2, "lr": 5e-3},
        controls=["untuned_adapter", "cross_adapter", "shuffled_labels", "random_lora"],
        sweep={"demos.label_noise": [0.0, 1.0]},
    )
    out = tmp_path_factory.mktemp("run")
    run_experiment(spec, out, engine=engine)
    return spec, out


def test_layout_names_every_layer_and_condition(run_dir) -> None:
    spec, out = run_dir
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "icl-it/results/v1"
    assert "layer 0" in results["conventions"]["layer_indexing"].lower()
    for run in expand_runs(spec):
        states = RunStates.from_bytes((out / "runs" / run.key / "states.safetensors").read_bytes())
        assert states.conditions == [
            "anchor",
            "icl",
            "it",
            "it_cross",
            "it_shuffled",
            "it_random",
            "it_untuned",
        ]
        assert states.layer_names[0] == "embeddings" and states.layer_names[-2:] == [
            "block_4",
            "final_norm",
        ]
        prompts = json.loads((out / "runs" / run.key / "prompts.json").read_text())["prompts"]
        assert [p["example_id"] for p in prompts] == states.example_ids
    assert (out / "report.html").read_text().lower().startswith("<!doctype html>")


def test_reported_similarities_are_recomputable_from_artifacts(run_dir) -> None:
    spec, out = run_dir
    results = json.loads((out / "results.json").read_text())
    for cell in results["cells"]:
        (key,) = cell["run_keys"]
        st = RunStates.from_bytes((out / "runs" / key / "states.safetensors").read_bytes())
        icl, it, anchor = st.condition("icl"), st.condition("it"), st.condition("anchor")
        # plain numpy, written out here: cosine per example and layer, then the mean
        cos = (icl * it).sum(-1) / (np.linalg.norm(icl, axis=-1) * np.linalg.norm(it, axis=-1))
        np.testing.assert_allclose(
            cell["metrics"]["cosine"]["icl_it"]["mean"], cos.mean(0), rtol=1e-5, atol=1e-6
        )
        mu = anchor.mean(0)
        a, b = icl - mu, it - mu
        ccos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        assert cell["metrics"]["centered_cosine"]["icl_it"]["mean"][0] is None  # 0 / 0
        np.testing.assert_allclose(
            cell["metrics"]["centered_cosine"]["icl_it"]["mean"][1:],
            ccos.mean(0)[1:],
            rtol=1e-4,
            atol=1e-5,
        )


def _mean_skipping_nan(x: np.ndarray) -> list[float | None]:
    out = []
    for col in x.T:
        col = col[np.isfinite(col)]
        out.append(float(col.mean()) if col.size else None)
    return out


def test_shift_measures_are_recomputable_from_artifacts(run_dir) -> None:
    """shift cosine, its mismatched version, shift norms and shared fractions, written out
    here in plain numpy from the stored states (not through services.analysis)."""
    spec, out = run_dir
    results = json.loads((out / "results.json").read_text())
    for cell in results["cells"]:
        (key,) = cell["run_keys"]
        st = RunStates.from_bytes((out / "runs" / key / "states.safetensors").read_bytes())
        anchor = st.condition("anchor").astype(np.float64)
        s_icl = st.condition("icl") - anchor
        s_it = st.condition("it") - anchor
        n = s_icl.shape[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            u_icl = s_icl / np.linalg.norm(s_icl, axis=-1, keepdims=True)
            u_it = s_it / np.linalg.norm(s_it, axis=-1, keepdims=True)
            matched = (u_icl * u_it).sum(-1)  # [n, L]
            mismatched = np.stack(
                [
                    np.mean([(u_icl[i] * u_it[j]).sum(-1) for j in range(n) if j != i], axis=0)
                    for i in range(n)
                ]
            )
            shared = np.linalg.norm(s_it.mean(0), axis=-1) / np.linalg.norm(s_it, axis=-1).mean(0)
        m = cell["metrics"]
        got = m["shift_cosine"]["icl_it"]["mean"]
        assert got[0] is None  # the embedding layer: no shift, undefined
        np.testing.assert_allclose(got[1:], _mean_skipping_nan(matched)[1:], rtol=1e-4, atol=1e-5)
        got = m["shift_cosine_mismatched"]["icl_it"]["mean"]
        np.testing.assert_allclose(
            got[1:], _mean_skipping_nan(mismatched)[1:], rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(
            m["shift_norm"]["anchor_it"]["mean"],
            np.linalg.norm(s_it, axis=-1).mean(0),
            rtol=1e-4,
            atol=1e-4,
        )
        np.testing.assert_allclose(
            m["shared_fraction"]["anchor_it"]["mean"][1:], shared[1:], rtol=1e-4, atol=1e-5
        )
        layer = cell["report_layer"]
        want = float(np.mean(matched[:, layer] - mismatched[:, layer]))
        for name in ("test", "pairing_test"):  # row-mean sign-flip and pairing: one estimate
            t = cell["primary"][name]
            assert t["mean_diff"] == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_label_noise_flips_the_stored_demo_labels(run_dir) -> None:
    spec, out = run_dir
    for run in expand_runs(spec):
        prompts = json.loads((out / "runs" / run.key / "prompts.json").read_text())["prompts"]
        flips = [d["flipped"] for p in prompts for d in p["demos"]]
        assert all(flips) if run.demos.label_noise == 1.0 else not any(flips)
        for p in prompts:
            for d in p["demos"]:
                assert (d["label"] != d["gold_label"]) == d["flipped"]

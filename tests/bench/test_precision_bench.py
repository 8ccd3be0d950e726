"""bench.precision (issue 18): fp32 and bf16 side by side, and its accuracy gates."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bench import precision_gates as G

SPEC = {
    "name": "precision-smoke",
    "data": {"task": "sentiment"},
    "inference": {"n": 4, "seed": 0},
    "demos": {"k": 2},
    "lora": {"epochs": 2, "lr": 5e-3},
    "metrics": ["cosine", "shift_cosine", "shift_cosine_mismatched", "shift_norm"],
    "controls": ["cross_adapter"],
}


def _test(p: float, diff: float) -> dict[str, Any]:
    return {"p_value": p, "significant": p < 0.05, "mean_diff": diff}


def test_a_flipped_significance_or_direction_is_a_changed_conclusion() -> None:
    a = {"studies": [{"primary_tests": [_test(0.01, 0.2), _test(0.5, 0.1), _test(0.01, 0.3)]}]}
    b = {"studies": [{"primary_tests": [_test(0.01, 0.1), _test(0.6, -0.1), _test(0.2, 0.3)]}]}
    out = G.conclusions(a, b)
    assert out["n_tests"] == 3 and out["n_significant"] == [2, 1]
    # the second flips direction but is significant in neither: the same conclusion
    assert [c["test"] for c in out["changed"]] == ["/studies[0]/primary_tests[2]"]
    assert G.conclusions(a, a)["same"]


def _analysis(matched: list[float], mismatched: list[float], cross: list[float]) -> dict:
    def layers(xs: list[float]) -> list[list[float]]:
        return [[0.0, x] for x in xs]  # two layers; the last is the report layer

    return {
        "key": "k",
        "cell": "c",
        "values": {
            "shift_cosine": {"icl_it": layers(matched), "icl_it_cross": layers(cross)},
            "shift_cosine_mismatched": {"icl_it": layers(mismatched)},
            "shift_norm": {"anchor_it": layers([10.0, 20.0])},
        },
        "it": {"final_loss": [1.0, 2.0]},
    }


def test_per_example_statistics_and_gates_on_known_numbers() -> None:
    a = _analysis([0.5, 0.4], [0.1, 0.1], [0.2, 0.3])
    b = _analysis([0.5, 0.43], [0.1, 0.1], [0.2, 0.3])
    b["values"]["shift_norm"]["anchor_it"] = [[0.0, 15.0], [0.0, 20.0]]
    stats = G.statistics(a, None)
    assert stats["primary"] == pytest.approx([0.4, 0.3])
    assert stats["icl_it - icl_it_cross"] == pytest.approx([0.3, 0.1])
    ex = G.per_example([a], [b], None)
    assert ex["max_abs_diff"]["primary"] == pytest.approx(0.03)
    sims = G.metric_diffs([a], [b])
    assert sims["by_metric_pair"]["shift_norm/anchor_it"] == pytest.approx(5.0)
    assert sims["max_abs"] == pytest.approx(0.03)  # the norm is reported, not gated
    doc = {"studies": []}
    g = G.gates([a], [b], doc, doc, None)
    assert g["measured"]["max_abs_primary_diff"] == pytest.approx(0.03)
    assert not g["passed"]["max_abs_primary_diff"] and not g["all_passed"]


def _run(tmp_path, extra: list[str], **changes: Any) -> dict[str, Any]:
    from bench.precision import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, **changes}))
    out = tmp_path / "results"
    argv = ["--spec", str(spec), "--model", "tiny", "--no-notes", "--out", str(out)]
    res = main([*argv, "--peak-seconds", "0.05", *extra])
    (written,) = out.glob("precision-*.json")
    assert json.loads(written.read_text())["command"].startswith("python -m bench.precision")
    return res


def test_without_bf16_units_it_says_so_and_runs_fp32_only(tmp_path, monkeypatch) -> None:
    import bench.machine

    monkeypatch.setattr(bench.machine, "bf16_units", lambda device: [])
    res = _run(tmp_path, ["--no-baseline"])
    assert "no bf16 matmul units" in res["machine"]["bf16"]
    (spec,) = res["specs"]
    assert list(spec["wall_s"]) == ["engine-fp32"] and "gates" not in spec
    assert list(spec["matmul_peak"]["best_gflops"]) == ["float32"]


def test_fp32_bf16_and_baseline_side_by_side(tmp_path, monkeypatch) -> None:
    import bench.machine

    monkeypatch.setattr(bench.machine, "bf16_units", lambda device: ["faked"])
    res = _run(tmp_path, [], controls=[])  # the baseline runs on specs without controls
    (spec,) = res["specs"]
    assert set(spec["wall_s"]) == {"engine-fp32", "engine-bf16", "baseline"}
    assert all(v is not None and v > 0 for v in spec["ratios"].values())
    assert set(spec["matmul_peak"]["best_gflops"]) == {"float32", "bfloat16"}
    for path, dtype in (("engine-fp32", "float32"), ("engine-bf16", "bfloat16")):
        assert spec["engines"][path]["dtype"] == dtype
        assert spec["engines"][path]["fraction_of_peak"] > 0
    g = spec["gates"]
    assert set(g["measured"]) == set(G.GATES)
    assert g["per_example"]["runs"][0]["stats"]["primary"]["max_abs_diff"] >= 0
    assert "icl_it - icl_it_cross" not in g["per_example"]["max_abs_diff"]  # no controls
    assert g["conclusions"]["n_tests"] > 0 and len(g["final_losses"]["a"]) == 4
    assert spec["vs_baseline"]["engine-fp32"] < 1e-4  # the fp32 engine is the baseline's science

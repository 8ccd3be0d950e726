"""The benchmark harness end to end on the tiny model (a smoke test, not a benchmark)."""

from __future__ import annotations

import json

import yaml

SPEC = {
    "name": "bench-smoke",
    "data": {"task": "sentiment"},
    "inference": {"n": 4, "seed": 0},
    "demos": {"k": 2},
    "lora": {"epochs": 1, "lr": 5e-3},
    "metrics": ["cosine", "centered_cosine"],
    "controls": ["untuned_adapter"],
    "sweep": {"demos.label_noise": [0.0, 1.0]},
}


def test_harness_runs_both_paths_and_they_agree(tmp_path) -> None:
    from bench.harness import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "results"
    argv = ["--spec", str(spec), "--model", "tiny", "--no-notes", "--out", str(out)]
    res = main([*argv, "--peak-seconds", "0.05"])
    assert res["n_examples"] == 4 and len(res["runs"]) == 2
    assert res["similarity_diff"]["max_abs"] < 1e-4
    assert res["speedup_wall"] > 0 and res["flops"]["necessary_flops"] > 0
    assert set(res["stages_s"]["engine"]) == {"tune", "anchor", "icl", "it", "analysis"}
    (written,) = out.glob("*.json")
    assert json.loads(written.read_text())["command"].startswith("python -m bench.harness")


def test_gpu_script_code_path_on_cpu(tmp_path) -> None:
    """bench/gpu_llama7b.py with a LLaMA-shaped model shrunk to a few layers, on the CPU."""
    from bench.gpu_llama7b import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "sweep": {}, "controls": []}))
    argv = ["--device", "cpu", "--dtype", "float32", "--layers", "2", "--hidden", "64"]
    argv += ["--heads", "4", "--inter", "128", "--spec", str(spec), "--no-notes"]
    res = main([*argv, "--out", str(tmp_path / "results"), "--peak-seconds", "0.05"])
    assert res["model"]["n_layers"] == 2 and res["shape"]["d_model"] == 64
    assert res["similarity_diff"]["max_abs"] < 1e-4


def test_services_bench_runs_both_paths_and_they_agree(tmp_path) -> None:
    """bench/services.py on the embedded stack (real API, Celery workers, SQLite broker)."""
    from bench.services import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "controls": []}))
    out = tmp_path / "results"
    res = main(["--spec", str(spec), "--model", "tiny", "--no-notes", "--out", str(out)])
    assert res["n_runs"] == 2 and res["backend"] == "embedded"
    assert res["wall_s"]["in_process"] > 0 and res["wall_s"]["services"] > 0
    diff = res["results_diff"]
    assert diff["compared"] > 100 and diff["only_in_one"] == 0 and diff["max_abs"] < 1e-5
    (written,) = out.glob("*services*.json")
    assert json.loads(written.read_text())["command"].startswith("python -m bench.services")


def test_results_comparison_sees_a_changed_number() -> None:
    from bench.services import compare_results

    a = {"studies": [{"cosine": [0.5, 0.25]}], "timings": {"total": 1.0}}
    b = {"studies": [{"cosine": [0.5, 0.5]}], "timings": {"total": 9.0}}
    assert compare_results(a, a) == {"compared": 2, "only_in_one": 0, "max_abs": 0.0}
    assert compare_results(a, b)["max_abs"] == 0.25  # timings are not compared

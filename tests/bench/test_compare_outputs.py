"""``python -m bench.compare_outputs``: two in-process runs of one tiny spec, in fp32 and
bf16, compared run by run (the dtype changes the run keys); a run against itself differs
by nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.compare_outputs import compare, lines, main
from services.common.spec import ExperimentSpec
from services.local.runner import run_experiment


def _run(engine: Any, tiny_dir: Path, out: Path, dtype: str) -> Path:
    spec = ExperimentSpec(
        name=f"compare-{dtype}",
        model={"name": str(tiny_dir), "dtype": dtype},
        inference={"n": 4, "seed": 2},
        demos={"k": 2},
        lora={"epochs": 2},
        controls=["cross_adapter"],
    )
    run_experiment(spec, out, engine=engine)
    return out


def test_two_precisions_compare_and_a_run_matches_itself(
    engine: Any, tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fp32 = _run(engine, tiny_dir, tmp_path / "fp32", "float32")
    bf16 = _run(engine, tiny_dir, tmp_path / "bf16", "bfloat16")
    same = compare(fp32, fp32)
    assert same["measured"]["max_abs_primary_diff"] == 0.0 and same["all_passed"]
    assert same["measured"]["changed_conclusions"] == 0
    res = main([str(fp32), str(bf16), "--json", str(tmp_path / "c.json")])
    (pair,) = res["runs"]
    assert pair[0] != pair[1]  # matched by place, not by key
    stats = res["per_example"]["runs"][0]["stats"]
    assert {"primary", "icl_it - icl_it_cross"} <= set(stats)
    assert len(stats["primary"]["a"]) == 4 and stats["primary"]["a"] != stats["primary"]["b"]
    assert res["measured"]["max_abs_primary_diff"] > 0.0
    assert (tmp_path / "c.json").stat().st_size > 0
    out = capsys.readouterr().out
    assert out.startswith("runs compared: 1") and "changed_conclusions" in out
    assert lines(res)[0] == "runs compared: 1"

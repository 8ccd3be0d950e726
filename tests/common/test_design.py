"""The power design (services.common.spec.design), from the CLI and over HTTP."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats as sps

from services.cli.design import design_text
from services.cli.main import main
from services.common.spec.design import DesignRequest, bench_per_example, design, n_for_effect

PILOT = Path(__file__).resolve().parents[2] / "docs/reports/duan2023-default/results.json"


def test_n_is_the_smallest_that_reaches_the_target_effect() -> None:
    n = n_for_effect(0.02, 0.031, 0.05 / 13, 0.8)
    z = sps.norm.ppf(1 - 0.05 / 26) + sps.norm.ppf(0.8)
    assert z * 0.031 / math.sqrt(n) <= 0.02 < z * 0.031 / math.sqrt(n - 1)
    assert n_for_effect(1.0, 0.01, 0.05, 0.8) == 4  # 3! * 0.05 <= 1: the exact test needs 4


def test_the_pilot_gives_the_sd_and_the_bench_the_compute() -> None:
    pilot = json.loads(PILOT.read_text())
    got = design(DesignRequest(effect=0.02, n_tests=13, pilot=pilot))
    assert got.sd_source.startswith("pilot") and 0.01 < got.sd_unit < 0.1
    assert got.mde_at_n <= 0.02
    bench = bench_per_example()
    assert bench is not None and got.compute is not None
    m = min(16, got.n_per_cell)
    assert got.compute["seconds_per_run"] == pytest.approx(
        got.n_per_cell * (bench["seconds_per_adapter"] + (m - 1) * bench["seconds_per_forward"])
    )
    bad = design(DesignRequest(pilot={"cells": "not a list of cells"}))
    assert bad.sd_source.startswith("default")


def test_the_cli_prints_the_design(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "--effect", "0.02", "--n-tests", "13", "--sd", "0.031", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_per_cell"] == n_for_effect(0.02, 0.031, 0.05 / 13, 0.8)
    assert main(["design", "--effect", "0.02", "--pilot", str(PILOT)]) == 0
    assert "n per cell" in capsys.readouterr().out


@pytest.mark.anyio
async def test_post_design_answers_the_same_as_the_cli(client) -> None:
    body = {"effect": 0.02, "n_tests": 13, "sd_unit": 0.031}
    r = await client.post("/v1/design", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["n_per_cell"] == design(DesignRequest(**body)).n_per_cell
    bad = await client.post("/v1/design", json={"effect": -1})
    assert bad.status_code == 422


def test_the_powered_scale_is_what_the_design_command_chose() -> None:
    """presets.SCALES["powered"]["n"] is the output of `icl-it design --effect 0.02
    --n-tests 15 --pilot docs/reports/duan2023-default/results.json` (the preset's 15
    primary tests)."""
    from services.common.spec import ExperimentSpec
    from services.common.spec.presets import SCALES

    pilot = json.loads(PILOT.read_text())
    chosen = design(DesignRequest(effect=0.02, n_tests=15, pilot=pilot)).n_per_cell
    assert SCALES["powered"]["n"] == chosen
    spec = ExperimentSpec(preset="duan2023", scale="powered")
    assert spec.inference.n == chosen


def test_the_pilot_rates_predict_the_powered_run_it_chose() -> None:
    """The default-scale pilot's own stage timings (controls, cross passes and patching
    included) predict the committed powered-scale run (12 examples, 16 runs, same machine)
    within 10%; the bench-based figure, which has no controls, is far below it."""
    pilot = json.loads(PILOT.read_text())
    powered = json.loads((PILOT.parents[1] / "duan2023-powered" / "results.json").read_text())
    runs = len(powered["runs"])
    got = design(DesignRequest(effect=0.02, n_tests=15, n_cells=runs, pilot=pilot))
    assert got.n_per_cell == powered["runs"][0]["n_examples"] == 12
    cp = got.compute_pilot
    assert cp is not None and cp["runs"] == runs == 16 and cp["pilot_runs"] == 32
    actual = powered["timings"]["total"]
    assert abs(cp["seconds_total"] - actual) / actual < 0.10, (cp["seconds_total"], actual)
    assert design(DesignRequest(effect=0.02, n_tests=15)).compute_pilot is None  # no pilot
    text = design_text(DesignRequest(effect=0.02, n_tests=15, pilot=pilot), got.model_dump())
    assert "compute (pilot)" in text and "at the pilot's own rates (32 runs in 1501 s" in text

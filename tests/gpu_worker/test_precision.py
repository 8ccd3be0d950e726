"""Compute precision (issue 18): what ``model.dtype`` resolves to, what a bf16 run stores
and records, and that a bf16 run agrees with fp32 within the documented tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch

from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, ModelSpec, expand_runs
from services.gpu_worker import precision as P
from services.gpu_worker.models import ModelLoadError, load_model, pick_precision

SCHEMA = Path(__file__).parents[2] / "services/common/schemas/results.schema.json"
CPU, CUDA = torch.device("cpu"), torch.device("cuda")

# The documented tolerance of a bf16 run against fp32 on the tiny model: bench/NOTES.md,
# "Precision" (the same bound as the bench gate on similarities).
TINY_MAX_SIM_DIFF = 0.05


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    assert {"avx512_bf16", "avx512f", "amx_tile"} <= P.cpu_flags(info)
    assert P.cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize("flags", [set(), {"avx2"}, {"avx512_bf16"}, {"amx_bf16", "avx512_bf16"}])
def test_cpu_units_come_from_the_flags(monkeypatch: pytest.MonkeyPatch, flags: set[str]) -> None:
    monkeypatch.setattr(P, "cpu_flags", lambda: flags)
    assert P.bf16_units(CPU) == [f for f in P.CPU_BF16_FLAGS if f in flags]


@pytest.mark.parametrize("device", [CPU, CUDA])
@pytest.mark.parametrize("units", [[], ["unit"]])
def test_auto_follows_the_units_and_the_policy(
    monkeypatch: pytest.MonkeyPatch, device: torch.device, units: list[str]
) -> None:
    """auto = bf16 exactly where there are bf16 units and the device's policy allows it."""
    monkeypatch.setattr(P, "bf16_units", lambda d: units)
    p = P.resolve_precision("auto", device)
    want_bf16 = bool(units) and P.AUTO_BF16[device.type]
    assert p.compute == (torch.bfloat16 if want_bf16 else torch.float32)
    assert p.autocast == want_bf16
    assert p.info()["bf16_units"] == units
    assert ("no bf16 matmul units" in p.reason) == (not units)


def test_auto_is_bf16_where_allowed_fp32_where_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy switch itself: with units, auto follows AUTO_BF16 for the device."""
    monkeypatch.setattr(P, "bf16_units", lambda d: ["avx512_bf16"])
    monkeypatch.setitem(P.AUTO_BF16, "cpu", True)
    assert P.resolve_precision("auto", CPU).compute == torch.bfloat16
    monkeypatch.setitem(P.AUTO_BF16, "cpu", False)
    assert P.resolve_precision("auto", CPU).compute == torch.float32


def test_explicit_dtypes_and_float16_on_cpu() -> None:
    assert P.resolve_precision("float32", CPU).autocast is False
    assert P.resolve_precision("bfloat16", CPU).compute == torch.bfloat16
    with pytest.raises(ModelLoadError, match="CUDA only"):
        pick_precision(ModelSpec(dtype="float16"), CPU)


def _settings(tiny_model_dir: Path, model_cache_dir: Path) -> Settings:
    return Settings(
        ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent), ICL_IT_MODEL_CACHE=model_cache_dir
    )


def test_bf16_load_stores_linears_low_and_the_rest_fp32(
    tiny_model_dir: Path, model_cache_dir: Path
) -> None:
    settings = _settings(tiny_model_dir, model_cache_dir)
    spec = ModelSpec(name=str(tiny_model_dir), dtype="bfloat16")
    loaded = load_model(spec, device=CPU, settings=settings)
    model = loaded.model
    assert model.model.layers[0].self_attn.q_proj.weight.dtype == torch.bfloat16
    assert model.model.layers[0].mlp.down_proj.weight.dtype == torch.bfloat16
    assert model.model.embed_tokens.weight.dtype == torch.float32
    assert model.model.norm.weight.dtype == torch.float32
    # the tied head gets a bf16 copy of its own; the embeddings stay fp32
    assert model.lm_head.weight.dtype == torch.bfloat16
    assert torch.equal(
        model.lm_head.weight.float(), model.model.embed_tokens.weight.to(torch.bfloat16).float()
    )
    info = loaded.info()["precision"]
    assert info["compute"] == "bfloat16" and info["autocast"] and info["states"] == "float32"
    fp32 = load_model(spec.model_copy(update={"dtype": "float32"}), device=CPU, settings=settings)
    assert all(p.dtype == torch.float32 for p in fp32.model.parameters())
    assert fp32.info()["precision"]["autocast"] is False


def _spec(tiny_model_dir: Path, dtype: str) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"name": str(tiny_model_dir), "dtype": dtype},
            "inference": {"n": 4, "seed": 0},
            "demos": {"k": 2},
            "lora": {"epochs": 2, "lr": 5e-3},
            "metrics": ["cosine", "shift_cosine", "shift_cosine_mismatched"],
            "controls": ["cross_adapter"],
        }
    )


def test_the_causal_patching_pass_runs_in_bf16_too(
    tiny_model_dir: Path, model_cache_dir: Path
) -> None:
    """The task-vector check runs the model after tuning: inside the same precision."""
    from services.gpu_worker.engine import Engine

    engine = Engine(settings=_settings(tiny_model_dir, model_cache_dir), device=CPU)
    body = _spec(tiny_model_dir, "bfloat16").model_dump(mode="json")
    body["causal"] = {"enabled": True}
    (run,) = expand_runs(ExperimentSpec.model_validate(body))
    out = engine.execute(run)
    assert out.states.meta["model"]["precision"]["compute"] == "bfloat16"
    assert out.states.hidden.dtype == np.float32
    assert out.states.causal and "causal" in out.timings  # the patching pass did run
    assert all(np.isfinite(a).all() for a in out.states.causal.values())


def test_bf16_run_records_its_precision_stores_fp32_and_agrees_with_fp32(
    tiny_model_dir: Path, model_cache_dir: Path
) -> None:
    from services.analysis.pipeline import analyze_experiment, analyze_run
    from services.common.storage.hidden_states import RunStates
    from services.common.storage.layout import PROMPTS_FILE, STATES_FILE
    from services.gpu_worker.engine import Engine
    from services.gpu_worker.steps import extract_run

    engine = Engine(settings=_settings(tiny_model_dir, model_cache_dir), device=CPU)
    analyses = {}
    for dtype in ("float32", "bfloat16"):
        spec = _spec(tiny_model_dir, dtype)
        (run,) = expand_runs(spec)
        extracted = extract_run(engine, run)
        states = RunStates.from_bytes(extracted.files[STATES_FILE])
        assert states.hidden.dtype == np.float32  # stored fp32 whatever the compute
        assert states.meta["model"]["precision"]["compute"] == dtype
        prompts = json.loads(extracted.files[PROMPTS_FILE])
        assert prompts["precision"]["compute"] == dtype
        assert prompts["precision"]["autocast"] == (dtype == "bfloat16")
        analysis = analyze_run(run, states, spec.metrics)
        results = analyze_experiment(spec, [analysis]).results
        jsonschema.validate(results, json.loads(SCHEMA.read_text()))
        assert results["runs"][0]["precision"]["compute"] == dtype
        analyses[dtype] = analysis
    a, b = analyses["float32"]["values"], analyses["bfloat16"]["values"]
    worst = max(
        float(np.nanmax(np.abs(np.array(a[m][p], float) - np.array(b[m][p], float))))
        for m in a
        for p in a[m]
    )
    assert 0 < worst <= TINY_MAX_SIM_DIFF  # bf16 did change the numbers, within tolerance

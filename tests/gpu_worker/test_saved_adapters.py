"""Saved adapters and tuning.json on the tiny random-init Llama.

Each saved adapter is loaded the way a user would, with ``PeftModel.from_pretrained`` on a
fresh copy of the base model, and must reproduce the stored IT states of its examples: a
wrong key, a transposed matrix, a lost scaling or an adapter saved under another's number
moves the states far beyond the tolerance (relative error 1e-4 per layer, the engine's own
tolerance against plain peft in test_engine_tiny.py), which the test also checks by
requiring that tuning moved the states from the anchor by much more than that.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.layout import (
    ADAPTER_CONFIG_FILE,
    ADAPTER_WEIGHTS_FILE,
    TUNING_FILE,
    adapter_dir,
    adapter_file,
)
from services.gpu_worker import adapter_export
from services.gpu_worker.steps import extract_run
from tests.gpu_worker.reference import independent_states

TOLERANCE = 1e-4  # per-layer relative error of the reproduced IT state


def _run(tiny_dir: Path, **lora):
    spec = ExperimentSpec.model_validate(
        {
            "model": {"name": str(tiny_dir)},
            "inference": {"n": 3, "seed": 1},
            "demos": {"k": 3},
            "lora": {"epochs": 3, "lr": 5e-2, **lora},
            "controls": [],
        }
    )
    return expand_runs(spec)[0]


def _write(files: dict[str, bytes], root: Path) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _rel_err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)


def _check_reproduced(extracted, tiny_dir: Path, root: Path) -> int:
    """Every saved adapter, loaded by peft, gives the stored IT state of each of its
    examples; returns how many adapters were checked."""
    out = extracted.output
    states, conds = out.states.hidden, out.states.conditions
    checked = 0
    for record in out.tuning:
        u = record["adapter"]
        base = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
        model = PeftModel.from_pretrained(base, root / adapter_dir(u)).eval()
        index = [int(p["example_id"].rsplit(":", 1)[1]) for p in out.prompts]
        rows = [i for i, x in enumerate(index) if x in record["examples"]]
        assert rows
        for i in rows:
            ids = out.prompts[i]["conditions"]["it"]["token_ids"]
            got, _ = independent_states(model, ids)
            stored = states[i, conds.index("it")]
            assert _rel_err(got, stored).max() < TOLERANCE, (u, i)
            moved = _rel_err(states[i, conds.index("anchor")], stored)[1:].max()
            assert moved > 100 * TOLERANCE  # the adapter does something the check can see
        checked += 1
    return checked


@pytest.mark.parametrize("dropout", [0.0, 0.05], ids=["batched", "peft"])
def test_saved_adapter_loads_in_peft_and_reproduces_the_it_states(
    engine, tiny_dir: Path, tmp_path: Path, dropout: float
) -> None:
    extracted = extract_run(engine, _run(tiny_dir, dropout=dropout))
    names = set(extracted.files)
    adapters = [t["adapter"] for t in extracted.output.tuning]
    for u in adapters:
        assert adapter_file(u, ADAPTER_CONFIG_FILE) in names
        assert adapter_file(u, ADAPTER_WEIGHTS_FILE) in names
    config = json.loads(extracted.files[adapter_file(adapters[0], ADAPTER_CONFIG_FILE)])
    assert config["peft_type"] == "LORA" and config["base_model_name_or_path"] == str(tiny_dir)
    assert config["target_modules"] == ["q_proj", "v_proj"] and config["lora_dropout"] == dropout
    _write(extracted.files, tmp_path)
    assert _check_reproduced(extracted, tiny_dir, tmp_path) == len(adapters) == 3


def test_tuning_json_holds_every_adapters_loss_at_each_step(engine, tiny_dir: Path) -> None:
    run = _run(tiny_dir, epochs=4)
    extracted = extract_run(engine, run)
    doc = json.loads(extracted.files[TUNING_FILE])
    records = {t["adapter"]: t for t in extracted.output.tuning}
    assert sorted(a["adapter"] for a in doc["adapters"]) == sorted(records)
    for entry in doc["adapters"]:
        record = records[entry["adapter"]]
        assert entry["condition"] == "it" and entry["steps"] == [1, 2, 3, 4]
        assert entry["loss"] == record["losses"] and entry["example"] == record["examples"][0]
        assert entry["loss"][-1] < entry["loss"][0]  # lr 5e-2 on three demonstrations
    assert doc["optimizer_steps"] == 4  # one batched group: one optimizer step per step
    assert doc["wall_s"] > 0 and doc["step_rate_per_s"] == pytest.approx(4 / doc["wall_s"])
    assert doc["saved_adapters"] == sorted(records) and doc["adapters_not_saved"] is None


def test_tuning_steps_report_loss_and_eta(engine, tiny_dir: Path) -> None:
    """Every optimizer step is heard once, with each adapter's loss of that step (the same
    numbers tuning.json keeps), and the progress message carries the loss and an ETA."""
    heard, stages = [], []
    extracted = extract_run(
        engine,
        _run(tiny_dir),
        on_tuning=heard.append,
        progress=lambda done, total, stage: stages.append(stage),
    )
    (record,) = [t for t in extracted.output.tuning if t["adapter"] == 0]
    assert [s.step for s in heard] == [1, 2, 3]
    assert all(s.eta_s is not None and s.eta_s >= 0 for s in heard)
    assert [s.loss[s.adapters.index(0)] for s in heard] == record["losses"]
    assert heard[-1].eta_s is not None and heard[-1].steps == 3 and heard[-1].groups == 1
    tuned = [s for s in stages if ", step " in s]
    assert len(tuned) == 3 and all(", loss " in s and ", ETA " in s for s in tuned)


@pytest.mark.parametrize("mode", ["none", "auto"])
def test_adapters_not_saved_when_switched_off_or_too_big(
    engine, tiny_dir: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapter_export, "AUTO_SAVE_MAX_BYTES", 0)  # every run is too big
    extracted = extract_run(engine, _run(tiny_dir, save_adapters=mode))
    assert not [n for n in extracted.files if n.startswith("adapters/")]
    doc = json.loads(extracted.files[TUNING_FILE])
    assert doc["saved_adapters"] == []
    assert (doc["adapters_not_saved"] is None) == (mode == "none")

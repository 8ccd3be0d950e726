"""The engine's adapter controls on a real model, one run per ``demos.contrast``.

    python -m bench.engine_controls [none verbalizer_swapped label_skewed] [--spec FILE]

Runs the spec's first run (default ``examples/default.yaml``, controls cross_adapter,
shuffled_labels and random_lora) in process, once per contrast, and prints per run: stage
times; per example the IT and random-LoRA state-shift norms at the report layer (and the
weight-matched start's); the largest relative gap between the cross matrix's own slot and
the ``it`` state; C[i, j] = cos(ICL shift_i, shift of input i through adapter j) at the
report layer, diagonal vs off-diagonal mean (the analysis tests this; here a look); and
label accuracy against each example's own mapping.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.hidden_states import Condition, RunStates
from services.gpu_worker.engine import Engine

CONTROLS = ["cross_adapter", "shuffled_labels", "random_lora"]
NORMS = (
    "it_state_norm",
    "random_lora_state_norm",
    "random_lora_weight_matched_state_norm",
    "random_lora_rounds",
)


def cross_figures(st: RunStates) -> dict[str, Any]:
    """Own slot vs it, and C's diagonal vs off-diagonal at the random LoRA's layer."""
    assert st.cross_hidden is not None and st.cross_adapter is not None
    assert st.cross_label_logprobs is not None
    layer = st.meta["random_lora_layer"]
    anchor, icl, it = st.condition("anchor"), st.condition("icl"), st.condition("it")
    n = len(it)
    own = np.array([st.cross_hidden[i, list(st.cross_adapter[i]).index(i)] for i in range(n)])
    rel = np.linalg.norm(own - it, axis=-1) / np.linalg.norm(it, axis=-1)
    s_icl = icl[:, layer] - anchor[:, layer]
    s_cross = st.cross_hidden[:, :n, layer] - anchor[:, None, layer]
    cos = np.einsum("id,ijd->ij", s_icl, s_cross) / (
        np.linalg.norm(s_icl, axis=-1)[:, None] * np.linalg.norm(s_cross, axis=-1)
    )
    off = ~np.eye(n, dtype=bool)
    lp = st.label_logprobs
    accuracy = {
        str(c): float((lp[:, st.conditions.index(c)].argmax(-1) == st.labels).mean())
        for c in (Condition.ANCHOR, Condition.ICL, Condition.IT)
    }
    through_others = (st.cross_label_logprobs[:, :n].argmax(-1) == st.labels[:, None])[off]
    return {
        "own_slot_vs_it_max_rel_err": float(rel.max()),
        "C_diagonal_mean": float(np.diag(cos).mean()),
        "C_off_diagonal_mean": float(cos[off].mean()),
        "accuracy": accuracy,
        "accuracy_through_other_adapters": float(through_others.mean()),
    }


def main() -> None:
    """One run per contrast named on the command line; one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contrasts", nargs="*", default=["none"])
    parser.add_argument("--spec", default="examples/default.yaml")
    args = parser.parse_args()
    body = yaml.safe_load(Path(args.spec).read_text(encoding="utf-8"))
    engine = Engine(device=torch.device("cpu"))
    for contrast in args.contrasts:
        spec = json.loads(json.dumps(body))
        spec["demos"]["contrast"], spec["controls"] = contrast, CONTROLS
        run = expand_runs(ExperimentSpec.model_validate(spec))[0]
        start = time.perf_counter()
        out = engine.execute(run)
        meta = out.states.meta
        line = {
            "contrast": contrast,
            "run": run.key,
            "wall_s": round(time.perf_counter() - start, 1),
            "timings_s": {k: round(v, 1) for k, v in out.timings.items()},
            **{k: [round(x, 3) for x in meta[k]] for k in NORMS},
            **cross_figures(out.states),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

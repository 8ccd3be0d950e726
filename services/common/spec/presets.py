"""Named study designs. ``duan2023`` expands into every factor the paper studies."""

from __future__ import annotations

from typing import Any

# Scale-dependent sizes. smoke: minutes on a 2-core CPU; default: under an hour on one;
# powered: enough examples to detect own − cross = 0.02 (see its comment);
# paper: the paper's sizes (about 30 resampled inference examples, several seeds).
SCALES: dict[str, dict[str, Any]] = {
    "smoke": {"n": 4, "seeds": [0], "k": 2, "k_ladder": [1, 4], "epochs": 4, "steps_per_demo": 2},
    "default": {
        "n": 8,
        "seeds": [0, 1],
        "k": 4,
        "k_ladder": [1, 2, 4, 8],
        "epochs": 8,
        "steps_per_demo": 2,
    },
    # powered: n chosen by `icl-it design --effect 0.02 --n-tests 15 --pilot
    # docs/reports/duan2023-default/results.json` (own − cross adapter = 0.02 at 80% power
    # at the preset's Holm level 0.05/15; per-example sd 0.0177, the demonstration-specific
    # pairing test's null sd in that pilot, every input through every adapter) -> 12.
    "powered": {
        "n": 12,
        "seeds": [0],
        "k": 4,
        "k_ladder": [1, 2, 4, 8],
        "epochs": 8,
        "steps_per_demo": 2,
    },
    "paper": {
        "n": 30,
        "seeds": [0, 1, 2],
        "k": 4,
        "k_ladder": [1, 2, 4, 8, 16],
        "epochs": 8,
        "steps_per_demo": 2,
    },
}


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def duan2023(scale: str, data: dict[str, Any]) -> dict[str, Any]:
    """The paper's design at ``scale`` as spec fields: every study it runs (demonstrations,
    similarity, label noise, template, IT budget, ...), each overridable by the user's fields."""
    s = SCALES[scale]
    model_name = (data.get("model") or {}).get("name", "smollm2-135m")
    models = data.get("models") or [model_name]
    studies = [
        {"name": "main", "description": "ICL-IT vs anchor-ICL vs anchor-IT, layer by layer."},
        {
            "name": "n_demos",
            "description": "Number of demonstrations.",
            "factor": "demos.k",
            "sweep": {"demos.k": s["k_ladder"]},
        },
        {
            "name": "similarity",
            "description": "Demonstration-inference similarity (sentence embeddings).",
            "factor": "demos.selection",
            "sweep": {"demos.selection": ["most_similar", "random", "least_similar"]},
        },
        {
            "name": "label_noise",
            "description": "Fraction of demonstration labels flipped.",
            "factor": "demos.label_noise",
            "sweep": {"demos.label_noise": [0.0, 0.5, 1.0]},
        },
        {
            "name": "task_mismatch",
            "description": "Translation demonstrations with sentiment inference.",
            "factor": "demos.source_task",
            "sweep": {"demos.source_task": [None, "translation_en_fr"]},
        },
        {
            "name": "template",
            "description": "Plain prompt vs the model's chat template.",
            "factor": "template.kind",
            "sweep": {"template.kind": ["plain", "chat"]},
        },
        {
            "name": "it_budget",
            "description": "Number of demonstrations with an IT budget that grows with k "
            "(lora.steps_per_demo), as the ICL prompt does; n_demos keeps the steps fixed.",
            "factor": "demos.k",
            "sweep": {"demos.k": s["k_ladder"]},
            "overrides": {"lora.steps_per_demo": s["steps_per_demo"]},
        },
        {
            "name": "demo_specificity",
            "description": "Demonstration sets made to differ across examples, so that the "
            "adapters are distinguishable and the demonstration-specific part (input through "
            "its own adapter vs through the others of its group) has something to show: "
            "label_skewed (each set dominated by one label), verbalizer_swapped (label words "
            "permuted per example); none is the main cell.",
            "factor": "demos.contrast",
            "sweep": {"demos.contrast": ["none", "label_skewed", "verbalizer_swapped"]},
        },
        {
            "name": "model",
            "description": "Every model the spec lists.",
            "factor": "model.name",
            "sweep": {"model.name": models},
        },
    ]
    return {
        "name": "duan2023",
        "description": "Duan et al. 2023 (arXiv 2311.10367), every factor, with controls.",
        "data": {"task": "sentiment"},
        "inference": {"n": s["n"], "seed": 0},
        "demos": {"k": s["k"], "selection": "random", "scope": "per_example"},
        "lora": {"epochs": s["epochs"]},
        "seeds": s["seeds"],
        "controls": ["cross_adapter", "shuffled_labels", "random_lora", "random_init"],
        "studies": studies,
    }


PRESETS = {"duan2023": duan2023}


def apply_preset(data: dict[str, Any]) -> dict[str, Any]:
    """Fill a preset's design in under the user's fields (the user's fields win)."""
    name = data["preset"]
    scale = data.get("scale", "default")
    if name not in PRESETS or scale not in SCALES:
        return data  # the field validators report the bad value
    return _deep_merge(PRESETS[name](scale, data), data)

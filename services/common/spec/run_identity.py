"""What identifies a run: the hash of its configuration as computed.

A run's key (with its seed) and its cell (without) are digests of its configuration in
JSON form, reduced by ``computed_config`` to what the run computes, so two spellings of one
computation are one run and one cell.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.common.spec.sections import LoraSpec


def config_digest(config: dict[str, Any]) -> str:
    """16 hex digits of the configuration as computed (``computed_config``)."""
    return _digest(computed_config(config))


def _digest(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _resolved_steps(lora: dict[str, Any], k: Any) -> Any:
    """``LoraSpec.steps_for`` on a raw section (before validation)."""
    if lora.get("max_steps") is not None:
        return lora["max_steps"]
    if lora.get("steps_per_demo") is not None:
        return lora["steps_per_demo"] * k
    return lora.get("epochs", LoraSpec.model_fields["epochs"].default)


def computed_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run's configuration (JSON form) reduced to what it computes, for its key and cell.

    The IT budget is hashed as the resolved number of full-batch steps, so ``epochs: 8``
    and ``steps_per_demo: 2`` at k = 4 are one configuration (one run, one cell), and
    options at their defaults that older runs lacked (``demos.contrast: none``,
    ``report_layer: None``, the ``data.hf`` fields without ``data.hf``) leave the hash as it
    was: runs with a plain ``epochs`` budget keep the keys and cells they had. What only
    decides which files are kept (``lora.save_adapters``) is not hashed."""
    out = json.loads(json.dumps(config))
    lora, demos = out.get("lora"), out.get("demos")
    if isinstance(lora, dict) and isinstance(demos, dict):
        try:
            steps = _resolved_steps(lora, demos.get("k"))
        except TypeError:  # an invalid point; validation names it
            steps = None
        if steps is not None:
            lora.update(epochs=steps, steps_per_demo=None, max_steps=None)
        lora.pop("save_adapters", None)
        if demos.get("contrast") == "none":
            demos.pop("contrast")
    if out.get("report_layer", 0) is None:
        out.pop("report_layer")
    data = out.get("data")
    if isinstance(data, dict) and data.get("hf") is None:  # a task named by data.task alone
        out["data"] = {k: v for k, v in data.items() if k == "task"}
    return out

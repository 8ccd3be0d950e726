"""What the experiment list shows beside status and progress: the models an experiment
runs, how many cells it compares, and, once it has results, its primary test.

The primary test comes from the stored results document. A finished experiment's document
never changes, so each API process keeps the small headline it extracted (keyed by the
document's storage key) and reads a document at most once, not at every list refresh.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any

from services.api.experiments import schemas
from services.common import db
from services.common.storage.artifacts import ArtifactStore

log = logging.getLogger(__name__)
CACHE_SIZE = 4096
_cache: OrderedDict[str, schemas.PrimaryResult | None] = OrderedDict()
_lock = threading.Lock()


def models(spec: dict[str, Any]) -> list[str]:
    """model.name, then every other model a study or the sweep names, in order, once each."""
    names = [str((spec.get("model") or {}).get("name", ""))]
    names += [str(m) for m in spec.get("models") or []]
    for study in [spec, *(spec.get("studies") or [])]:
        names += [str(m) for m in (study.get("sweep") or {}).get("model.name", [])]
        override = (study.get("overrides") or {}).get("model.name")
        if override:
            names.append(str(override))
    return [n for n in dict.fromkeys(names) if n]


def cells(experiment: db.Experiment) -> int:
    """Configurations compared: every cell has one run per seed."""
    n_seeds = len(experiment.spec.get("seeds") or [0]) or 1
    return max(experiment.total_runs // n_seeds, 1 if experiment.total_runs else 0)


def primary_of(document: dict[str, Any]) -> schemas.PrimaryResult | None:
    """The first study's first primary test, or None when the document has none."""
    for study in document.get("studies") or []:
        for test in study.get("primary_tests") or []:
            if test.get("p_value") is None or test.get("mean_diff") is None:
                continue
            a, b = test.get("a", "a"), test.get("b", "b")
            return schemas.PrimaryResult(
                study=str(study.get("name", "")),
                measure=f"{a} − {b} ({test.get('metric', '')})",
                layer=int(test.get("layer", 0)),
                effect=float(test["mean_diff"]),
                ci_low=test.get("ci_low"),
                ci_high=test.get("ci_high"),
                p_value=float(test["p_value"]),
                p_holm=test.get("p_holm_experiment"),
                significant=bool(test.get("significant", False)),
                n=int(test.get("n", 0)),
            )
    return None


def primary(store: ArtifactStore | None, experiment: db.Experiment) -> schemas.PrimaryResult | None:
    """The experiment's primary test, read once per process from its results document."""
    key = experiment.results_key
    if store is None or key is None:
        return None
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        found = primary_of(json.loads(store.get(key)))
    except Exception as exc:  # an unreadable document leaves the column empty, not the list
        log.warning("results of %s unreadable for the list: %s", experiment.id, exc)
        return None
    with _lock:
        _cache[key] = found
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return found

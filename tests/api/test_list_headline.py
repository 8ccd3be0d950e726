"""What the experiment list says beside status (issue 20): the models, the number of cells
and, once the experiment has results, its primary test, read from the stored document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from services.api.experiments import headline
from services.common import db
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.layout import RESULTS_FILE, experiment_file_key

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "docs" / "reports" / "duan2023-smoke" / "results.json"
SPEC: dict[str, Any] = {
    "name": "headline",
    "inference": {"n": 4},
    "demos": {"k": 2},
    "seeds": [0, 1],
    "controls": [],
    "sweep": {"demos.k": [1, 2, 4]},
}


def _finish_with(api_app: Any, experiment_id: str, document: dict[str, Any]) -> None:
    """Store ``document`` as the experiment's results and mark it succeeded."""
    store: ArtifactStore = api_app.state.store
    key = experiment_file_key(experiment_id, RESULTS_FILE)
    store.put(key, json.dumps(document).encode())
    with db.session_scope(api_app.state.settings.db_url) as s:
        s.execute(
            update(db.Experiment)
            .where(db.Experiment.id == experiment_id)
            .values(status="succeeded", results_key=key)
        )
        s.commit()


async def test_the_list_shows_models_cells_and_the_primary_test(client, api_app):
    submitted = await client.post("/v1/experiments", json=SPEC)
    assert submitted.status_code == 202, submitted.text
    body = submitted.json()
    assert body["models"] == ["smollm2-135m"]
    assert body["cells"] == 3  # three values of k, each with two seeds
    assert body["progress"]["total_runs"] == 6 and body["primary"] is None

    document = json.loads(SMOKE.read_text())
    _finish_with(api_app, body["id"], document)
    listed = (await client.get("/v1/experiments")).json()["data"]
    (row,) = [e for e in listed if e["id"] == body["id"]]
    test = document["studies"][0]["primary_tests"][0]
    assert row["primary"]["effect"] == pytest.approx(test["mean_diff"])
    assert row["primary"]["p_value"] == pytest.approx(test["p_value"])
    assert row["primary"]["p_holm"] == pytest.approx(test["p_holm_experiment"])
    assert row["primary"]["layer"] == test["layer"]
    assert row["primary"]["measure"] == f"{test['a']} − {test['b']} ({test['metric']})"
    detail = (await client.get(f"/v1/experiments/{body['id']}")).json()
    assert detail["primary"] == row["primary"]


def test_models_lists_the_swept_ones_once_and_primary_needs_a_test():
    spec = {
        "model": {"name": "a"},
        "models": ["b"],
        "studies": [{"sweep": {"model.name": ["a", "c"]}}, {"overrides": {"model.name": "d"}}],
    }
    assert headline.models(spec) == ["a", "b", "c", "d"]
    assert headline.primary_of({"studies": [{"name": "main", "primary_tests": []}]}) is None
    assert headline.primary_of({}) is None

"""Events as server-sent events, and the dashboard's live loss curve fed by them.

On ``pg_api`` (the API on the Postgres test database, no workers): an experiment is
submitted and stays queued; the test appends the events a tuning GPU worker appends
(``add_event``, type ``tuning``) and watches the stream, and the page, take them in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.helpers import tiny_spec, wait_for

pytestmark = pytest.mark.services
ADAPTERS = [0, 1, 2, 3]
STEPS = 8


def _submit(server: Any, model_dir: Path, name: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/v1/experiments",
        json=tiny_spec(model_dir, name=name, controls=[]),
        headers={"Authorization": f"Bearer {server.key}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def _tuning(server: Any, experiment: dict[str, Any], steps: range) -> None:
    """Append one ``tuning`` event per step, as the GPU worker does while it tunes."""
    from services.common import db
    from services.common.db.events import add_event

    run_id = experiment["runs"][0]["id"]
    with db.session_scope(server.db_url) as s:
        for step in steps:
            loss = [2.0 / (step + a) for a in range(1, len(ADAPTERS) + 1)]
            data = {
                "run_id": run_id,
                "group": 0,
                "groups": 1,
                "step": step,
                "steps": STEPS,
                "adapters": ADAPTERS,
                "loss": loss,
                "eta_s": 0.5 * (STEPS - step),
            }
            message = f"tuning step {step}/{STEPS}"
            add_event(s, experiment["id"], "tuning", message, run_id=run_id, data=data)
        s.commit()


def _messages(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """SSE messages ({field: value}) from a response's lines."""
    message: dict[str, str] = {}
    for line in lines:
        if not line:
            if message:
                yield message
            message = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            message[field] = value


def test_the_event_stream_sends_every_event_once_resumes_and_ends(
    pg_api: Any, tiny_model_dir: Path
) -> None:
    from services.common import db
    from services.common.db.status import ExperimentStatus
    from services.common.jobs.experiments import finish_experiment

    experiment = _submit(pg_api, tiny_model_dir, "stream")
    _tuning(pg_api, experiment, range(1, 4))
    url = f"{pg_api.url}/v1/experiments/{experiment['id']}/events/stream"
    auth = {"Authorization": f"Bearer {pg_api.key}"}
    assert httpx.get(url, timeout=10).status_code == 401  # the key is required

    seen: list[dict[str, str]] = []
    with httpx.stream("GET", url, headers=auth, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for message in _messages(response.iter_lines()):
            if "data" in message:
                seen.append(message)
            if len(seen) == 4:
                break
    assert [m["event"] for m in seen] == ["experiment.queued", "tuning", "tuning", "tuning"]
    events = [json.loads(m["data"]) for m in seen]
    assert [e["data"].get("step") for e in events[1:]] == [1, 2, 3]
    assert [int(m["id"]) for m in seen] == [e["id"] for e in events]
    assert events[1]["run_id"] == experiment["runs"][0]["id"]

    # resume after the second event; the stream ends once the experiment has finished
    done = threading.Event()

    def finish() -> None:
        done.wait(10)
        with db.session_scope(pg_api.db_url) as s:
            assert finish_experiment(s, experiment["id"], ExperimentStatus.CANCELLED)
            s.commit()

    threading.Thread(target=finish, daemon=True).start()
    resumed = []
    headers = {**auth, "Last-Event-ID": seen[1]["id"]}
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        for message in _messages(response.iter_lines()):
            if "data" not in message:
                continue
            resumed.append(message)
            if len(resumed) == 2:
                done.set()  # then the experiment finishes: the stream must end by itself
    ids = [int(m["id"]) for m in resumed]
    assert ids[:2] == [int(seen[2]["id"]), int(seen[3]["id"])]
    assert done.is_set()


def test_the_live_loss_curve_grows_while_tuning_events_arrive(
    open_page: Any, pg_api: Any, tiny_model_dir: Path, shot: Any
) -> None:
    experiment = _submit(pg_api, tiny_model_dir, "live")
    page = open_page(pg_api.url, pg_api.key)
    page.goto(f"/ui/experiments/{experiment['id']}")
    page.wait_for_selector('#events tr[data-type="experiment.queued"]')
    assert page.locator("#live").is_hidden()  # nothing tunes yet

    points = page.locator("#live-loss g.role-mark.mark-symbol path")
    _tuning(pg_api, experiment, range(1, 3))
    page.wait_for_selector("#live-loss svg")
    wait_for(lambda: points.count() == 2 * len(ADAPTERS), 30, "the first steps' points")
    assert "step 2/8" in page.inner_text("#live-eta")

    _tuning(pg_api, experiment, range(3, 6))
    wait_for(lambda: points.count() == 5 * len(ADAPTERS), 30, "the curve to grow")
    eta = page.inner_text("#live-eta")
    assert "step 5/8" in eta and "ETA 2 s" in eta, eta  # 0.5 s a step, 3 steps to go
    labels = page.locator("#live-loss g.role-legend-label text").all_text_contents()
    assert labels == [f"run 1 · adapter {a}" for a in ADAPTERS], labels
    assert page.locator('#events tr[data-type="tuning"]').count() == 0  # not in the table
    shot(page.locator("#live"), "live-loss")

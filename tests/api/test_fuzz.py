"""Schemathesis against the served OpenAPI document, in-process, with a real API key.

Every operation gets ``FUZZ_EXAMPLES`` generated requests (positive and negative data),
then a stateful phase follows the links Schemathesis infers (submit -> read, cancel,
events, artifacts) for ``STATEFUL_EXAMPLES`` scenarios. Checks: no 5xx, every status and
body as documented (status code, content type, response schema). The settings are
committed here; ``FUZZ_EXAMPLES=200 pytest tests/api/test_fuzz.py`` fuzzes longer,
``FUZZ_RANDOM=1`` draws new examples instead of the same ones every run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.common import db
from services.common.db import keys
from services.common.runtime.settings import Settings

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HYPOTHESIS = {
    "deadline": None,
    "derandomize": os.environ.get("FUZZ_RANDOM") != "1",  # same examples every run
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.generate],
}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    from services.api.main import create_app

    home = tmp_path_factory.mktemp("fuzz")
    s = Settings(
        ICL_IT_HOME=home,
        ICL_IT_RATE_LIMIT=1_000_000,
        ICL_IT_RATE_BURST=1_000_000,
        ICL_IT_MAX_ACTIVE_EXPERIMENTS=1_000_000,
    )
    db.migrate(s.db_url)
    with db.session_scope(s.db_url) as session:
        _, key = keys.create_key(session, "fuzz")
        session.commit()

    class Queue:
        def enqueue_runs(self, run_ids: list[str]) -> None:
            pass

        def enqueue_finalize(self, experiment_id: str) -> None:
            pass

        def ping(self) -> None:
            pass

    return create_app(s, queue=Queue(), run_migrations=False), key


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: tuple[Any, str]) -> Any:
    app, _ = fuzz_app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def auth(fuzz_app: tuple[Any, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzz_app[1]}"}


def _headers(auth: dict[str, str]) -> dict[str, str]:
    return dict(auth)  # schemathesis adds its own headers to the dict it is given


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(
    fuzz_schema: Any, auth: dict[str, str], mode: GenerationMode
) -> None:
    # (schemathesis' own pytest plugin does not run under pytest 9: hypothesis directly)
    calls = 0
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=FUZZ_EXAMPLES, **HYPOTHESIS)
        def fuzz(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=_headers(auth), checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode == GenerationMode.NEGATIVE
    print(f"FUZZ mode={mode.value} calls={calls}")


def test_stateful_scenarios_answer_as_documented(fuzz_schema: Any, auth: dict[str, str]) -> None:
    base = fuzz_schema.as_state_machine()
    steps: list[str] = []

    class Workflow(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            steps.append(f"{case.method} {case.path}")
            return {"headers": _headers(auth)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=_headers(auth))

    run_state_machine_as_test(
        Workflow,
        settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, **HYPOTHESIS),
    )
    chained = [s for s in steps if "{experiment_id}" in s]
    print(f"FUZZ stateful calls={len(steps)} on_a_created_experiment={len(chained)}")
    assert chained, "the stateful phase never followed a link from a created experiment"

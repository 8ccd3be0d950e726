"""One real embedded stack (API + both workers, SQLite) for the researcher-facing tests:
exports through the API, the CLI's remote commands, the SDK, the dashboard.

``finished`` is one tiny experiment (2 runs) that has succeeded, shared by the tests that
only read; tests that need their own experiment submit it.

Every /v1 request needs a registered API key. ``user_key`` is a plain (non-admin) key of
the stack's database that owns ``finished``; ``other_key`` is a second real key, for the
checks that one key sees nothing of another's. The stack's own local key
(``surface_stack.api_key``, in ``$ICL_IT_HOME/api_key``) is an admin key: it sees all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))
from service_helpers import free_port, tiny_spec, wait_status  # noqa: E402

EXTERNAL_URLS = ("DATABASE_URL", "REDIS_URL", "ARTIFACT_URL", "ICL_IT_BROKER_PREFIX")


@pytest.fixture(scope="session")
def surface_stack(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, model_cache_dir: Path
) -> Iterator[Any]:
    from services.stack import Stack

    home = tmp_path_factory.mktemp("surface-home")
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL_URLS}
    env.update(
        ICL_IT_HOME=str(home),
        ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent),
        ICL_IT_MODEL_CACHE=str(model_cache_dir),
        ICL_IT_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
    )
    log_path = home / "stack.log"
    with open(log_path, "w", buffering=1) as log:
        stack = Stack(env, port=free_port(), log=log)
        try:
            stack.start()
            stack.wait_ready(timeout=90)
            yield stack
        except BaseException:
            print(log_path.read_text()[-5000:])
            raise
        finally:
            stack.stop(grace=2)


@pytest.fixture(scope="session")
def make_stack_key(surface_stack: Any) -> Callable[..., str]:
    """Register a new API key in the stack's own database (as ``icl-it keys create``)."""
    from services.common import db, keys
    from services.common.settings import Settings

    settings = Settings(
        ICL_IT_HOME=surface_stack.env["ICL_IT_HOME"],
        DATABASE_URL=None,
        REDIS_URL=None,
        ARTIFACT_URL=None,
    )

    def make(name: str, admin: bool = False) -> str:
        with db.session_scope(settings.db_url) as s:
            _, key = keys.create_key(s, name, admin=admin)
            s.commit()
        return key

    return make


@pytest.fixture(scope="session")
def user_key(make_stack_key: Callable[..., str]) -> str:
    return make_stack_key("surface-user")


@pytest.fixture(scope="session")
def other_key(make_stack_key: Callable[..., str]) -> str:
    """A second valid key: another owner."""
    return make_stack_key("surface-other")


@pytest.fixture(scope="session")
def http(surface_stack: Any, user_key: str) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {user_key}"}
    with httpx.Client(base_url=surface_stack.url, timeout=30, headers=auth) as client:
        yield client


@pytest.fixture(scope="session")
def finished(http: httpx.Client, tiny_model_dir: Path) -> dict[str, Any]:
    """A succeeded experiment: 2 runs (seeds 0 and 1) of the tiny model, owned by
    ``user_key``."""
    spec = tiny_spec(tiny_model_dir, name="surface", seeds=[0, 1], controls=[])
    response = http.post("/v1/experiments", json=spec)
    assert response.status_code == 202, response.text
    body = wait_status(http, response.json()["id"], timeout=180)
    assert body["status"] == "succeeded", body
    return body

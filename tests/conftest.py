"""Shared fixtures: real Postgres and Redis (isolated per test session), the tiny model.

Postgres: a fresh database ``icl_it_test_<random>`` per session, dropped afterwards.
Redis: a unique key prefix per session (``ICL_IT_BROKER_PREFIX``), deleted afterwards.
Both are skipped, with the reason, when the server is not reachable; ``.ci/run`` starts
them. Override the servers with ICL_IT_TEST_POSTGRES / ICL_IT_TEST_REDIS.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("ICL_IT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ICL_IT_TEST_REDIS", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[1]

# Fixture modules (tests/fixtures/): the fast API app, the tiny-model engine, the running
# stack of the researcher-facing tests.
pytest_plugins = ["tests.fixtures.api", "tests.fixtures.engine", "tests.fixtures.surface"]


@contextmanager
def _new_database() -> Iterator[str]:
    """A new, empty Postgres database, dropped afterwards; skips when Postgres is down."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"Postgres not reachable at {PG_ADMIN_URL}: {exc}")
    name = f"icl_it_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        from services.common.db import get_engine

        get_engine(f"{base}/{name}").dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Each test leaves os.environ as it found it: the CLI run in-process sets a local
    stack's defaults (``apply_local_defaults``) in the environment, as ``icl-it`` does."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a new, empty Postgres database (dropped after the session)."""
    with _new_database() as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """A database of the module's own, for a module whose stack runs real workers: their
    reconciler re-sends every queued run it finds, so runs other tests left queued in the
    session database would be computed first."""
    with _new_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def broker_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix no other test session uses; its keys are deleted afterwards."""
    import redis

    prefix = f"icl_it_test_{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def model_cache_dir() -> Path:
    """Where the embedded model's converted weights are cached (shared across sessions)."""
    from services.common.runtime.settings import Settings

    return Settings(ICL_IT_HOME=REPO / "var").model_cache_dir


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path) -> Path:
    """A tiny random-init LlamaForCausalLM (+ the embedded tokenizer) in a temp dir.

    Specs name it by path; put its parent in ICL_IT_MODEL_DIRS.
    """
    from services.common.runtime.settings import Settings
    from services.gpu_worker.models import save_tiny_llama

    root = tmp_path_factory.mktemp("tiny-models")
    settings = Settings(ICL_IT_MODEL_CACHE=model_cache_dir)
    return save_tiny_llama(root / "tiny-llama", seed=0, settings=settings)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the shared running stack (``surface_stack``) run last and together.

    The stack is session-scoped: once started, its API and workers stay up until the end of
    the session. Started early, they would idle (and poll their broker) beside every stack
    and timing-sensitive test that follows.
    """
    on_stack = [i for i in items if "surface_stack" in getattr(i, "fixturenames", ())]
    if on_stack:
        ids = {id(i) for i in on_stack}
        items[:] = [i for i in items if id(i) not in ids] + on_stack

"""Engines and sessions: one pooled engine per database URL per process, sessions as short
scopes, and ``migrate`` to the newest Alembic revision.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys; Postgres a
pre-pinged pool. Worker children call ``dispose_engines`` after fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from services.common.runtime.settings import get_settings
from services.common.storage.private_files import private_file


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA busy_timeout=30000")  # writers wait instead of failing
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def make_engine(url: str) -> Engine:
    """A new engine: SQLite with WAL, a busy timeout and foreign keys; others pooled, pre-pinged."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            private_file(path)  # 0600 in a 0700 directory: it holds every user's data
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


_engines: dict[str, tuple[Engine, sessionmaker[Session]]] = {}
_engines_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    # A worker's main process runs the reconciler thread while it forks pool children:
    # a lock that thread held at the fork must not stay held forever in the child.
    global _engines_lock
    _engines_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def _cached(url: str) -> tuple[Engine, sessionmaker[Session]]:
    with _engines_lock:
        if url not in _engines:
            engine = make_engine(url)
            _engines[url] = (engine, sessionmaker(engine, expire_on_commit=False))
        return _engines[url]


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the settings'), created once."""
    return _cached(url or get_settings().db_url)[0]


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """The process's session factory for ``url`` (default: the settings'), created once."""
    return _cached(url or get_settings().db_url)[1]


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A short-lived session; commit explicitly, anything uncommitted is rolled back."""
    with get_sessionmaker(url)() as session:
        yield session


def dispose_engines() -> None:
    """Forget pooled connections inherited through fork (call in each worker child)."""
    with _engines_lock:
        for engine, _ in _engines.values():
            engine.dispose(close=False)


def migrate(url: str | None = None) -> None:
    """Upgrade the database to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parents[1] / "migrations"))
    cfg.attributes["url"] = url or get_settings().db_url
    command.upgrade(cfg, "head")

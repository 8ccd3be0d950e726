"""The Alembic migrations build exactly the schema the ORM models describe (on Postgres
and on SQLite), and 0004 (experiment tags) fills the new column for older rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.common import db
from services.common.db.models import Base


def _differences(url: str) -> list[object]:
    engine = db.get_engine(url)
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_migrated_schema_matches_the_models(database, request, tmp_path: Path) -> None:
    if database == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'm.db'}"
    db.migrate(url)
    assert _differences(url) == []


def _upgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent.parent / "migrations"))
    cfg.attributes["url"] = url
    command.upgrade(cfg, revision)


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_0004_gives_older_experiments_empty_tags(database, request, tmp_path: Path) -> None:
    if database == "postgres":  # a database of this module's own, still empty
        url = request.getfixturevalue("module_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade(url, "0003")
    engine = db.get_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO experiments (id, owner, name, status, spec, request_hash, "
                "created_at, total_runs, completed_runs) VALUES ('a', 'o', 'n', 'queued', "
                "'{}', 'h', '2026-01-01T00:00:00+00:00', 1, 0)"
            )
        )
    _upgrade(url, "head")
    with engine.connect() as conn:
        tags = conn.execute(sa.text("SELECT tags FROM experiments")).scalar()
    assert (json.loads(tags) if isinstance(tags, str) else tags) == []
    with db.session_scope(url) as s:
        assert s.get(db.Experiment, "a").tags == []

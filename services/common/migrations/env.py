"""Alembic environment: the URL comes from ``migrate(url)``, alembic.ini or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from services.common.db import Base, make_engine
from services.common.runtime.settings import get_settings

config = context.config
target_metadata = Base.metadata
_PG_LOCK = 7_126_461  # advisory lock id: concurrent starters migrate one at a time


def _url() -> str:
    return (
        config.attributes.get("url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().db_url
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            is_pg = connection.dialect.name == "postgresql"
            if is_pg:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK})
                connection.commit()
            try:
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=connection.dialect.name == "sqlite",
                    compare_type=True,
                )
                with context.begin_transaction():
                    context.run_migrations()
                connection.commit()
            finally:
                if is_pg:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})
                    connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

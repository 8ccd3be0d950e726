"""Job records: experiment, run, event and dataset rows, the source of truth for job state.

Postgres (through psycopg) in tests and production, SQLite (WAL, busy timeout) as the
embedded default. The schema is owned by the Alembic migrations next to this module;
``migrate()`` brings a database to the head revision and is run by the API at startup.

Statuses are written only by the named transitions in ``services.common.jobs``; the
statuses themselves are the enums of ``services.common.db.status``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db.status import ExperimentStatus, RunStatus

ID_PATTERN = r"^[0-9a-f]{32}$"
_ID = re.compile(ID_PATTERN)


def new_id() -> str:
    """A new row id: 32 lowercase hex digits (uuid4)."""
    return uuid.uuid4().hex


def is_id(value: str) -> bool:
    """Ids are uuid4 hex; anything else (NUL, slashes, 2 MB strings) cannot name a row."""
    return _ID.match(value) is not None


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (what every timestamp column stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store aware datetimes in UTC; a naive one is a ValueError rather than a guess."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Read back an aware UTC datetime (SQLite returns naive ones)."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
Id = String(32)  # uuid4 hex

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base: constraint names for migrations; datetime and JSON column types."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
        list[int]: JSONType,
    }


class Experiment(Base):
    """A submitted experiment: its owner, resolved spec, status, run counts and result keys."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_experiments_owner_idempotency"),
        Index("ix_experiments_owner_created", "owner", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=ExperimentStatus.QUEUED.value)
    spec: Mapped[dict[str, Any]]
    # the spec's tags, in a column of their own for GET /v1/experiments?tag= (migration 0004)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total_runs: Mapped[int] = mapped_column(Integer)
    completed_runs: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    results_key: Mapped[str | None] = mapped_column(String(255))
    report_key: Mapped[str | None] = mapped_column(String(255))


class Run(Base):
    """One run of an experiment: its configuration, status, attempts, progress and artifact keys."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("experiment_id", "key", name="uq_runs_experiment_key"),
        UniqueConstraint("experiment_id", "index", name="uq_runs_experiment_index"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    index: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]]
    factors: Mapped[dict[str, Any]]
    studies: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value)
    stage: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    states_key: Mapped[str | None] = mapped_column(String(255))
    states_sha256: Mapped[str | None] = mapped_column(String(64))
    states_shape: Mapped[list[int] | None] = mapped_column(JSONType)
    states_bytes: Mapped[int | None] = mapped_column(BigInteger)
    prompts_key: Mapped[str | None] = mapped_column(String(255))
    analysis_key: Mapped[str | None] = mapped_column(String(255))
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Liveness, for the reconciler (never shown to users): who holds a running run
    # ("host:pid"), when it last said so, and when the run's current task was sent.
    worker_id: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]


class Event(Base):
    """One entry of an experiment's event log (the ``events`` route reads them in id order)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_experiment_id_id", "experiment_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(16), default="info")
    type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ApiKey(Base):
    """An API key, stored as its SHA-256 (the key itself is shown once, at creation).

    ``owner`` is what the key's experiments and datasets are recorded under: the key's
    hash, which is also what an unregistered bearer token mapped to before keys existed.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(64))
    admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Dataset(Base):
    """A user upload; its rows live in the artifact store under ``artifact_key``."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(Id, primary_key=True, default=new_id)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    n_rows: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    artifact_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

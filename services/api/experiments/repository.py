"""Queries on experiment, run and event rows (no HTTP, no policy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import type_coerce

from services.common import db
from services.common.db.status import TERMINAL, ExperimentStatus, RunStatus
from services.common.spec import RunConfig


def find_by_idempotency_key(session: Session, owner: str, key: str) -> db.Experiment | None:
    """The owner's experiment submitted with this Idempotency-Key, if any."""
    return session.scalar(
        select(db.Experiment).where(
            db.Experiment.owner == owner, db.Experiment.idempotency_key == key
        )
    )


def insert_experiment(
    session: Session,
    *,
    owner: str,
    spec: dict[str, Any],
    runs: list[RunConfig],
    idempotency_key: str | None,
    request_hash: str,
) -> tuple[db.Experiment, list[str]]:
    """Add an experiment row and one queued row per run (not committed); returns the experiment and
    the run ids in run order."""
    experiment = db.Experiment(
        id=db.new_id(),
        owner=owner,
        name=spec["name"],
        status=ExperimentStatus.QUEUED.value,
        spec=spec,
        tags=list(spec.get("tags") or []),
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_at=db.utcnow(),
        total_runs=len(runs),
        completed_runs=0,
    )
    session.add(experiment)
    session.flush()
    run_ids = [db.new_id() for _ in runs]
    now = db.utcnow()
    session.execute(
        insert(db.Run),
        [
            {
                "id": run_id,
                "experiment_id": experiment.id,
                "key": run.key,
                "index": i,
                "config": run.model_dump(mode="json"),
                "factors": run.factors,
                "studies": run.studies,
                "status": RunStatus.QUEUED.value,
                "progress": 0.0,
                "attempts": 0,
                "dispatched_at": now,  # the API sends the task right after the commit
            }
            for i, (run_id, run) in enumerate(zip(run_ids, runs, strict=True))
        ],
    )
    return experiment, run_ids


def count_active(session: Session, owner: str) -> int:
    """Experiments of ``owner`` that are queued, running or being cancelled."""
    active = (ExperimentStatus.QUEUED, ExperimentStatus.RUNNING, ExperimentStatus.CANCELLING)
    return int(
        session.scalar(
            select(func.count())
            .select_from(db.Experiment)
            .where(
                db.Experiment.owner == owner, db.Experiment.status.in_([a.value for a in active])
            )
        )
        or 0
    )


def mark_not_dispatched(session: Session, run_ids: list[str]) -> None:
    """The broker did not take these runs' tasks: the reconciler's next pass sends them."""
    session.execute(update(db.Run).where(db.Run.id.in_(run_ids)).values(dispatched_at=None))


@dataclass(frozen=True)
class ExperimentFilter:
    """What ``GET /v1/experiments`` narrows the list to; every given part must hold."""

    statuses: tuple[str, ...] = ()  # any of these
    name: str | None = None  # a case-insensitive substring of the name
    tags: tuple[str, ...] = ()  # every one of these tags
    id_prefix: str | None = None  # ids starting with this (the CLI's short ids)


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """The experiment's tags contain ``tag``: JSONB containment on Postgres, json_each on
    SQLite (the embedded default)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(db.Experiment.tags, JSONB).contains([tag])
    each = func.json_each(db.Experiment.tags).table_valued("value")
    return exists().select_from(each).where(each.c.value == tag)


def _where(session: Session, f: ExperimentFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if f.statuses:
        clauses.append(db.Experiment.status.in_(f.statuses))
    if f.name:
        clauses.append(func.lower(db.Experiment.name).contains(f.name.lower(), autoescape=True))
    clauses += [_has_tag(session, tag) for tag in f.tags]
    if f.id_prefix:
        clauses.append(db.Experiment.id.startswith(f.id_prefix, autoescape=True))
    return clauses


def page_for_owner(
    session: Session,
    owner: str | None,
    limit: int,
    after: db.Experiment | None,
    where: ExperimentFilter = ExperimentFilter(),
) -> tuple[Sequence[db.Experiment], bool]:
    """Newest first; keyset pagination on (created_at, id); ``owner=None``: everyone's."""
    query = select(db.Experiment).where(*_where(session, where))
    if owner is not None:
        query = query.where(db.Experiment.owner == owner)
    if after is not None:
        query = query.where(
            or_(
                db.Experiment.created_at < after.created_at,
                and_(db.Experiment.created_at == after.created_at, db.Experiment.id < after.id),
            )
        )
    query = query.order_by(db.Experiment.created_at.desc(), db.Experiment.id.desc())
    rows = session.scalars(query.limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def delete_finished(session: Session, experiment_id: str) -> bool:
    """Delete the experiment's row if it has finished, in one statement (a status that
    changes meanwhile cannot slip past the check); its runs and events go with it
    (ON DELETE CASCADE). False when it has not finished."""
    result = session.execute(
        delete(db.Experiment).where(
            db.Experiment.id == experiment_id, db.Experiment.status.in_(sorted(TERMINAL))
        )
    )
    return bool(getattr(result, "rowcount", 0))


def get_for_owner(session: Session, owner: str | None, experiment_id: str) -> db.Experiment | None:
    """The experiment if it belongs to ``owner`` (``owner=None``: anyone's), else None."""
    experiment = session.get(db.Experiment, experiment_id)
    if experiment is None or (owner is not None and experiment.owner != owner):
        return None
    return experiment


def runs_of(session: Session, experiment_id: str) -> Sequence[db.Run]:
    """An experiment's runs in run order."""
    return session.scalars(
        select(db.Run).where(db.Run.experiment_id == experiment_id).order_by(db.Run.index)
    ).all()


def run_progress(session: Session, experiment_ids: list[str]) -> dict[str, float]:
    """Per experiment: finished runs count 1, running runs their progress; one statement,
    so one snapshot of the runs."""
    if not experiment_ids:
        return {}
    done = case(
        (db.Run.status.in_(sorted(TERMINAL)), 1.0),
        (db.Run.status == RunStatus.RUNNING.value, db.Run.progress),
        else_=0.0,
    )
    rows = session.execute(
        select(db.Run.experiment_id, func.sum(done))
        .where(db.Run.experiment_id.in_(experiment_ids))
        .group_by(db.Run.experiment_id)
    ).all()
    return {experiment_id: float(total or 0.0) for experiment_id, total in rows}


def events_page(
    session: Session, experiment_id: str, after: int | None, limit: int
) -> tuple[Sequence[db.Event], bool]:
    """Up to ``limit`` events with an id above ``after``, oldest first, and whether more follow."""
    query = select(db.Event).where(db.Event.experiment_id == experiment_id)
    if after is not None:
        query = query.where(db.Event.id > after)
    rows = session.scalars(query.order_by(db.Event.id).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit

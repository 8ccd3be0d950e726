"""Queries on experiment, run and event rows (no HTTP, no policy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from services.common import db
from services.common.spec import RunConfig


def find_by_idempotency_key(session: Session, owner: str, key: str) -> db.Experiment | None:
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
    experiment = db.Experiment(
        id=db.new_id(),
        owner=owner,
        name=spec["name"],
        status=db.QUEUED,
        spec=spec,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_at=db.utcnow(),
        total_runs=len(runs),
        completed_runs=0,
    )
    session.add(experiment)
    session.flush()
    run_ids = [db.new_id() for _ in runs]
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
                "status": db.QUEUED,
                "progress": 0.0,
                "attempts": 0,
            }
            for i, (run_id, run) in enumerate(zip(run_ids, runs, strict=True))
        ],
    )
    return experiment, run_ids


def page_for_owner(
    session: Session, owner: str, limit: int, after: db.Experiment | None
) -> tuple[Sequence[db.Experiment], bool]:
    """Newest first; keyset pagination on (created_at, id)."""
    query = select(db.Experiment).where(db.Experiment.owner == owner)
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


def get_for_owner(session: Session, owner: str, experiment_id: str) -> db.Experiment | None:
    experiment = session.get(db.Experiment, experiment_id)
    return experiment if experiment is not None and experiment.owner == owner else None


def runs_of(session: Session, experiment_id: str) -> Sequence[db.Run]:
    return session.scalars(
        select(db.Run).where(db.Run.experiment_id == experiment_id).order_by(db.Run.index)
    ).all()


def running_progress(session: Session, experiment_ids: list[str]) -> dict[str, float]:
    """Sum of the progress of running runs, per experiment."""
    if not experiment_ids:
        return {}
    rows = session.execute(
        select(db.Run.experiment_id, func.sum(db.Run.progress))
        .where(db.Run.experiment_id.in_(experiment_ids), db.Run.status == db.RUNNING)
        .group_by(db.Run.experiment_id)
    ).all()
    return {experiment_id: float(total or 0.0) for experiment_id, total in rows}


def events_page(
    session: Session, experiment_id: str, after: int | None, limit: int
) -> tuple[Sequence[db.Event], bool]:
    query = select(db.Event).where(db.Event.experiment_id == experiment_id)
    if after is not None:
        query = query.where(db.Event.id > after)
    rows = session.scalars(query.order_by(db.Event.id).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def request_cancel(session: Session, experiment_id: str) -> bool:
    """queued/running -> cancelling; True when this call changed it."""
    result = session.execute(
        update(db.Experiment)
        .where(
            db.Experiment.id == experiment_id,
            db.Experiment.status.in_((db.QUEUED, db.RUNNING)),
        )
        .values(status=db.CANCELLING)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def cancel_queued_runs(session: Session, experiment_id: str) -> int:
    result = session.execute(
        update(db.Run)
        .where(db.Run.experiment_id == experiment_id, db.Run.status == db.QUEUED)
        .values(status=db.CANCELLED, finished_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def run_statuses(session: Session, experiment_id: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (status, code, message)
        for status, code, message in session.execute(
            select(db.Run.status, db.Run.error_code, db.Run.error_message)
            .where(db.Run.experiment_id == experiment_id)
            .order_by(db.Run.index)
        ).all()
    ]

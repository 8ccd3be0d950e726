"""Queries on uploaded-dataset rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import db
from services.common.db.status import TERMINAL


def get_for_owner(session: Session, owner: str, dataset_id: str) -> db.Dataset | None:
    """The dataset row if ``owner`` uploaded it, else None (another owner's counts as absent)."""
    dataset = session.get(db.Dataset, dataset_id)
    return dataset if dataset is not None and dataset.owner == owner else None


def usage(session: Session, owner: str) -> tuple[int, int]:
    """(datasets, bytes) the owner keeps."""
    count, size = session.execute(
        select(func.count(), func.coalesce(func.sum(db.Dataset.size_bytes), 0)).where(
            db.Dataset.owner == owner
        )
    ).one()
    return int(count), int(size)


def active_experiments_using(session: Session, owner: str, task: str) -> list[str]:
    """Ids of the owner's unfinished experiments with a run that reads ``task`` (as its
    data or as the source of its demonstrations)."""
    rows = session.execute(
        select(db.Experiment.id, db.Run.config)
        .join(db.Run, db.Run.experiment_id == db.Experiment.id)
        .where(db.Experiment.owner == owner, db.Experiment.status.not_in(sorted(TERMINAL)))
    ).all()
    using = {
        experiment_id
        for experiment_id, config in rows
        if task
        in ((config.get("data") or {}).get("task"), (config.get("demos") or {}).get("source_task"))
    }
    return sorted(using)


def list_for_owner(session: Session, owner: str) -> Sequence[db.Dataset]:
    """The owner's datasets, newest first (at most ICL_IT_MAX_DATASETS: no paging needed)."""
    return session.scalars(
        select(db.Dataset)
        .where(db.Dataset.owner == owner)
        .order_by(db.Dataset.created_at.desc(), db.Dataset.id.desc())
    ).all()

"""Queries on uploaded-dataset rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.common import db


def get_for_owner(session: Session, owner: str, dataset_id: str) -> db.Dataset | None:
    """The dataset row if ``owner`` uploaded it, else None (another owner's counts as absent)."""
    dataset = session.get(db.Dataset, dataset_id)
    return dataset if dataset is not None and dataset.owner == owner else None

"""The experiment's event log: one row per thing that happened, read by the API's
events route and the dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.common.db.models import Event, utcnow


def add_event(
    session: Session,
    experiment_id: str,
    type: str,
    message: str,
    *,
    run_id: str | None = None,
    level: str = "info",
    data: dict[str, Any] | None = None,
) -> None:
    """Append an event to the experiment's log (in the caller's transaction)."""
    session.execute(
        insert(Event).values(
            experiment_id=experiment_id,
            run_id=run_id,
            created_at=utcnow(),
            level=level,
            type=type,
            message=message,
            data=data or {},
        )
    )

"""The experiment's event log: one row per thing that happened, read by the API's
events route and the dashboard.

Readers page and stream by id (``id > after``), so an experiment's events must become
visible in id order. An id is drawn when its row is inserted; were the row inserted
mid-transaction, a writer that drew id 10 and committed after another writer's id 11 would
let a reader see 11, move its cursor past 10 and never see it (two workers ending runs of
one experiment at once). So ``add_event`` only queues the row on the session, and the
rows are inserted as the last thing before the commit, under a transaction-level lock on
the experiment (Postgres: ``pg_advisory_xact_lock``; SQLite has one writer at a time
anyway): one experiment's ids are drawn and committed one transaction after another. The
lock is taken after everything else the transaction does, and whoever holds it is
committing, so it cannot deadlock. A rolled-back transaction's queued events go with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from services.common.db.models import Event, utcnow
from services.common.db.owner_lock import lock_id

_PENDING = "icl_it_pending_events"  # session.info key: rows to insert at the commit


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
    """Append an event to the experiment's log, committed with the caller's transaction
    (inserted at its commit, in the order added)."""
    session.connection()  # inside the caller's transaction: its rollback drops the event
    session.info.setdefault(_PENDING, []).append(
        {
            "experiment_id": experiment_id,
            "run_id": run_id,
            "created_at": utcnow(),
            "level": level,
            "type": type,
            "message": message,
            "data": data or {},
        }
    )


@event.listens_for(Session, "before_commit")
def _insert_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    session.flush()  # commit flushes after this hook: the rows an event refers to first
    if session.get_bind().dialect.name == "postgresql":
        # every experiment's lock, in one order: two committers cannot wait on each other
        for key in sorted({lock_id(r["experiment_id"], "events") for r in rows}):
            session.execute(select(func.pg_advisory_xact_lock(key)))
    session.execute(insert(Event), rows)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed or not
        session.info.pop(_PENDING, None)

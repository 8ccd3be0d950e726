"""One owner's quota check and insert, serialised across every API process.

A quota read as "count, then insert" lets N parallel requests all count the same number
before any of them inserts (8 parallel submits at a quota of 2 were all accepted). The
count and the insert therefore run in one transaction that first takes a lock named
after the owner, held until that transaction ends:

- Postgres: a transaction-level advisory lock (``pg_advisory_xact_lock``) on a 64-bit
  hash of the owner: owners do not wait for each other, only one owner's requests queue.
- SQLite: ``BEGIN IMMEDIATE`` takes the database's one write lock before the count (a
  busy connection waits ``busy_timeout``); every writer queues, which is SQLite anyway.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def lock_id(owner: str, purpose: str) -> int:
    """A signed 64-bit lock id for (purpose, owner), stable across processes."""
    digest = hashlib.sha256(f"icl-it:{purpose}:{owner}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_owner(session: Session, owner: str, purpose: str = "quota") -> None:
    """Start the session's writing transaction holding the owner's lock. Ends whatever
    the session had read so far (nothing may be pending): the lock must come first."""
    session.rollback()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(lock_id(owner, purpose))))
    elif dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")

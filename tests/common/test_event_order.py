"""An experiment's events become visible in id order on the real Postgres: a writer that
drew a lower id is committed before a later writer's row can be inserted, so a reader
paging by ``id > after`` never skips one (gpu workers ending runs of one experiment at
once). And a rolled-back transaction's events are gone with it."""

from __future__ import annotations

import threading

from sqlalchemy import select

from services.common import db
from services.common.db import events


def _experiment(sessions) -> str:
    with sessions() as s:
        exp = db.Experiment(
            id=db.new_id(), owner="o", name="order", status="running", spec={}, request_hash="h",
            total_runs=2, completed_runs=0, created_at=db.utcnow(),
        )  # fmt: skip
        s.add(exp)
        db.add_event(s, exp.id, "experiment.queued", "queued")  # refers to the row above
        s.commit()
        return exp.id


def _seen(sessions, eid: str) -> list[tuple[int, str]]:
    with sessions() as s:
        rows = s.execute(
            select(db.Event.id, db.Event.type)
            .where(db.Event.experiment_id == eid)
            .order_by(db.Event.id)
        )
        return [(i, t) for i, t in rows]


def test_a_later_writer_waits_until_the_earlier_id_is_committed(postgres_url: str) -> None:
    db.migrate(postgres_url)
    sessions = db.get_sessionmaker(postgres_url)
    eid = _experiment(sessions)
    first = sessions()
    db.add_event(first, eid, "run.succeeded", "run 1 ended")
    events._insert_pending(first)  # what its commit does first: lock, insert (id drawn)
    done = threading.Event()

    def second_writer() -> None:
        with sessions() as s:
            db.add_event(s, eid, "run.succeeded", "run 2 ended")
            s.commit()
        done.set()

    t = threading.Thread(target=second_writer)
    t.start()
    try:
        # without the lock run 2's row (a higher id) would be visible now, before run 1's
        assert not done.wait(1.5), "the second writer committed while a lower id was pending"
        assert [t_ for _, t_ in _seen(sessions, eid)] == ["experiment.queued"]
    finally:
        first.commit()
        first.close()
        t.join(10)
    assert done.is_set()
    seen = _seen(sessions, eid)
    assert [t_ for _, t_ in seen] == ["experiment.queued", "run.succeeded", "run.succeeded"]
    with sessions() as s:
        messages = s.scalars(
            select(db.Event.message).where(db.Event.experiment_id == eid).order_by(db.Event.id)
        ).all()
    assert messages[1:] == ["run 1 ended", "run 2 ended"]


def test_other_experiments_do_not_wait_and_a_rollback_drops_its_events(postgres_url: str) -> None:
    db.migrate(postgres_url)
    sessions = db.get_sessionmaker(postgres_url)
    a, b = _experiment(sessions), _experiment(sessions)
    holder = sessions()
    db.add_event(holder, a, "run.progress", "a")
    events._insert_pending(holder)  # a's lock held
    try:
        with sessions() as s:  # b's events commit at once
            db.add_event(s, b, "run.progress", "b")
            s.commit()
        assert [t for _, t in _seen(sessions, b)] == ["experiment.queued", "run.progress"]
    finally:
        holder.rollback()
        holder.close()
    assert [t for _, t in _seen(sessions, a)] == ["experiment.queued"]  # rolled back
    with sessions() as s:
        db.add_event(s, a, "run.progress", "dropped")
        s.rollback()
        db.add_event(s, a, "run.progress", "kept")
        s.commit()
    with sessions() as s:
        kept = s.scalars(select(db.Event.message).where(db.Event.experiment_id == a)).all()
    assert kept == ["queued", "kept"]

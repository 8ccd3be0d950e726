"""Job records: experiment, run, event, key and dataset rows, the source of truth for job
state (``models``); engines, sessions and migrations (``session``); the event log
(``events``); API keys (``keys``).

Statuses are written only by the named transitions in ``services.common.jobs``; the
statuses themselves are the enums of ``services.common.jobs.status``.
"""

from services.common.db.events import add_event
from services.common.db.models import (
    ID_PATTERN,
    NAMING,
    ApiKey,
    Base,
    Dataset,
    Event,
    Experiment,
    Id,
    JSONType,
    Run,
    UTCDateTime,
    is_id,
    new_id,
    utcnow,
)
from services.common.db.session import (
    dispose_engines,
    get_engine,
    get_sessionmaker,
    make_engine,
    migrate,
    session_scope,
)

__all__ = [
    "ApiKey",
    "Base",
    "Dataset",
    "Event",
    "Experiment",
    "ID_PATTERN",
    "Id",
    "JSONType",
    "NAMING",
    "Run",
    "UTCDateTime",
    "add_event",
    "dispose_engines",
    "get_engine",
    "get_sessionmaker",
    "is_id",
    "make_engine",
    "migrate",
    "new_id",
    "session_scope",
    "utcnow",
]

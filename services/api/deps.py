"""Dependencies, named once: every route signature says what it needs.

The ownership check lives in ``ExperimentDep`` and nowhere else: an experiment of
another owner is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from services.api.errors import NotFound, Unauthorized
from services.api.queue import TaskQueue
from services.common import db
from services.common.artifacts import ArtifactStore
from services.common.settings import Settings

LOCAL_OWNER = "local"

_bearer = HTTPBearer(
    auto_error=False,
    description="API key. The owner of what you create is the key's SHA-256; "
    "without a key the owner is 'local' (single-user default).",
)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_store(request: Request) -> ArtifactStore:
    return request.app.state.store


def get_queue(request: Request) -> TaskQueue:
    return request.app.state.queue


def get_owner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("use 'Authorization: Bearer <api key>'")
        return LOCAL_OWNER
    return hashlib.sha256(credentials.credentials.encode()).hexdigest()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[ArtifactStore, Depends(get_store)]
QueueDep = Annotated[TaskQueue, Depends(get_queue)]
CurrentOwner = Annotated[str, Depends(get_owner)]


def get_owned_experiment(
    experiment_id: Annotated[str, Path(description="Experiment id.")],
    session: SessionDep,
    owner: CurrentOwner,
) -> db.Experiment:
    experiment = session.get(db.Experiment, experiment_id) if db.is_id(experiment_id) else None
    if experiment is None or experiment.owner != owner:
        raise NotFound(f"experiment {experiment_id[:64]!r} not found")
    return experiment


ExperimentDep = Annotated[db.Experiment, Depends(get_owned_experiment)]

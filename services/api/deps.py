"""Dependencies, named once: every route signature says what it needs.

Who is calling is ``CurrentPrincipal``: the registered API key of the bearer token (an
unknown or revoked key is a 401), or, only where ``ICL_IT_ALLOW_ANONYMOUS`` is set, the
anonymous owner ``local``. Each key has a request rate, and requests without a valid key
one per client address (429 with Retry-After; ``rate_limits.py``).

The ownership check lives in ``ExperimentDep`` and nowhere else: an experiment of
another owner is a 404, exactly like one that does not exist. Admin keys see everything.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from services.api.errors import NotFound, TooManyRequests, Unauthorized
from services.api.queue import TaskQueue
from services.api.rate_limits import RequestLimits
from services.common import db
from services.common.db import keys
from services.common.runtime.settings import Settings
from services.common.storage.artifacts import ArtifactStore

LOCAL_OWNER = "local"

_bearer = HTTPBearer(
    auto_error=False,
    description="API key (icl-it keys create). What you create is visible to your key "
    "only (and to admin keys). The local stack writes its key to $ICL_IT_HOME/api_key.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's owner (or the anonymous ``local``) and whether it is admin."""

    owner: str
    admin: bool = False
    key_id: str | None = None


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (not re-read from the environment)."""
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """A database session for the request, closed when the request is done."""
    with request.app.state.sessionmaker() as session:
        yield session


def get_store(request: Request) -> ArtifactStore:
    """The app's artifact store."""
    return request.app.state.store


def get_queue(request: Request) -> TaskQueue:
    """The app's task queue (replaced by an in-memory recorder in tests)."""
    return request.app.state.queue


_CHALLENGE = {"WWW-Authenticate": "Bearer"}
log = logging.getLogger(__name__)


def warn_if_anonymous(settings: Settings) -> None:
    """Log a warning at start when requests without an API key are accepted."""
    if settings.allow_anonymous:
        log.warning(
            "ICL_IT_ALLOW_ANONYMOUS is set: requests without an API key are accepted "
            "and share the owner %r",
            LOCAL_OWNER,
        )


def _limits(request: Request) -> RequestLimits:
    return request.app.state.limits  # type: ignore[no-any-return]


def _client_address(request: Request) -> str:
    """The peer's address (behind a proxy: run uvicorn with --proxy-headers and
    --forwarded-allow-ips so that this is the client's, not the proxy's)."""
    return request.client.host if request.client else "unknown"


def _check_address(request: Request, settings: Settings) -> None:
    """Requests without a valid key are limited per client address, before their 401."""
    wait = _limits(request).wait_address(_client_address(request))
    if wait > 0:
        raise TooManyRequests(
            f"rate limit of {settings.rate_limit_anonymous_per_min} requests per minute "
            "per client address without a valid API key (ICL_IT_RATE_LIMIT_ANONYMOUS) reached",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[Session, Depends(get_session)],
) -> Principal:
    """Authenticate the bearer key (401: missing, unknown or revoked), then rate-limit it (429)."""
    settings: Settings = request.app.state.settings
    row = keys.find_active(session, credentials.credentials) if credentials else None
    anonymous = settings.allow_anonymous and not request.headers.get("authorization")
    if row is None and not anonymous:
        _check_address(request, settings)  # every request of this branch is a 401
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("use 'Authorization: Bearer <api key>'", headers=_CHALLENGE)
        if not settings.allow_anonymous:
            raise Unauthorized(
                "an API key is required ('Authorization: Bearer <api key>'; "
                "an operator creates one with: icl-it keys create --name NAME)",
                headers=_CHALLENGE,
            )
        principal = Principal(owner=LOCAL_OWNER)
        limited_as = f"{LOCAL_OWNER}@{_client_address(request)}"  # a key's rate, per address
    elif row is None:
        raise Unauthorized("unknown or revoked API key", headers=_CHALLENGE)
    else:
        principal = Principal(owner=row.owner, admin=row.admin, key_id=row.id)
        limited_as = principal.owner
    wait = _limits(request).wait_key(limited_as)
    if wait > 0:
        raise TooManyRequests(
            f"rate limit of {settings.rate_limit_per_min} requests per minute per API key "
            f"(ICL_IT_RATE_LIMIT) reached",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return principal


def get_owner(principal: Annotated[Principal, Depends(get_principal)]) -> str:
    """The owner the request acts for: what it creates is visible to this owner only."""
    return principal.owner


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[ArtifactStore, Depends(get_store)]
QueueDep = Annotated[TaskQueue, Depends(get_queue)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentOwner = Annotated[str, Depends(get_owner)]


def get_owned_experiment(
    experiment_id: Annotated[str, Path(description="Experiment id.")],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> db.Experiment:
    """The path's experiment if the caller owns it or is admin; else 404, as if it were absent."""
    experiment = session.get(db.Experiment, experiment_id) if db.is_id(experiment_id) else None
    if experiment is None or not (principal.admin or experiment.owner == principal.owner):
        raise NotFound(f"experiment {experiment_id[:64]!r} not found")
    return experiment


ExperimentDep = Annotated[db.Experiment, Depends(get_owned_experiment)]

"""/healthz (the process answers) and /readyz (the database and the broker answer)."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from services.api.deps import QueueDep, SessionDep
from services.api.errors import RETRY_AFTER_S

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Whether the API (and, for readiness, each dependency it checks) is up."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """Liveness: the process answers. Touches no dependency."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: database and broker reachable",
    responses={503: {"model": Health, "description": "A dependency is unreachable"}},
)
def readyz(session: SessionDep, queue: QueueDep) -> Health | JSONResponse:
    """Each dependency is ``ok`` or ``unavailable``; the reason goes to the server log only
    (it names hosts and ports)."""
    checks: dict[str, str] = {}
    try:
        session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("readyz: database: %s: %s", type(exc).__name__, exc)
        checks["database"] = "unavailable"
    try:
        queue.ping()
        checks["broker"] = "ok"
    except Exception as exc:
        log.warning("readyz: broker: %s: %s", type(exc).__name__, exc)
        checks["broker"] = "unavailable"
    if all(v == "ok" for v in checks.values()):
        return Health(status="ok", checks=checks)
    return JSONResponse(
        Health(status="unavailable", checks=checks).model_dump(),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )

"""/v1/design: the n per cell that detects a target effect, before a run (the same
computation as ``icl-it design``; services.common.spec.design)."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import CurrentPrincipal
from services.api.errors import BAD_JSON_RESPONSE, PROBLEM_RESPONSES
from services.common.spec.design import DesignRequest, DesignResult, design

router = APIRouter(prefix="/v1", tags=["design"], responses=PROBLEM_RESPONSES)


@router.post(
    "/design",
    response_model=DesignResult,
    responses=BAD_JSON_RESPONSE,
    summary="Power design: n per cell for a target effect",
    description="Target effect (own − cross adapter), alpha, power and the Holm family size, "
    "optionally a pilot results.json for the per-example sd -> the inference examples per "
    "cell, the minimum detectable effect at that n, and the compute it implies on the "
    "benchmarked machine (bench/results).",
)
def post_design(body: DesignRequest, _: CurrentPrincipal) -> DesignResult:
    """A key is needed, as for every /v1 request (and it counts against the rate limit)."""
    return design(body)

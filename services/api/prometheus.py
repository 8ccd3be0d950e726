"""The API's metrics and access log, and ``GET /metrics``.

One ASGI middleware times every request and records it under its *route template*
(``/v1/experiments/{experiment_id}``, never the raw path, so the label set stays small),
method and status; with ``ICL_IT_ACCESS_LOG`` it also logs one ``http.request`` event
carrying the experiment id from the path. ``/metrics`` adds two families computed at
scrape time from the sources of truth: experiments by status (Postgres) and queue depth
per queue (the broker).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.deps import SessionDep
from services.api.errors import Unauthorized
from services.api.security import scrub_query
from services.common import db
from services.common.db import keys
from services.common.db.status import ExperimentStatus
from services.common.runtime import observability, prometheus
from services.common.runtime.celery_app import ANALYSIS_QUEUE, GPU_QUEUE

access_log = logging.getLogger("icl_it.access")
log = logging.getLogger(__name__)

STATUSES = tuple(s.value for s in ExperimentStatus)
UNMATCHED = "(unmatched)"


class MetricsMiddleware:
    """Counts and times requests by route template; logs one access event each."""

    def __init__(self, app: ASGIApp, access_log_on: bool = True) -> None:
        self.app = app
        self.access_log_on = access_log_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope.get("method", "?")
            if route != "/metrics":
                prometheus.HTTP_REQUESTS.labels(method, route, str(status)).inc()
                prometheus.HTTP_LATENCY.labels(method, route, str(status)).observe(elapsed)
            if self.access_log_on and route not in ("/healthz", "/metrics"):
                params = scope.get("path_params") or {}
                with observability.log_context(experiment_id=params.get("experiment_id")):
                    access_log.info(
                        "%s %s %d %.1fms",
                        method,
                        scope.get("path", ""),
                        status,
                        elapsed * 1000,
                        extra={
                            "event": "http.request",
                            "method": method,
                            "route": route,
                            "path": scope.get("path", ""),
                            "query": scrub_query(scope.get("query_string", b"").decode("latin-1")),
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                            "client": (scope.get("client") or ("", 0))[0],
                        },
                    )


class StateCollector(Collector):
    """Experiments by status and queue depth, read when Prometheus scrapes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Scrape-time gauges: experiments by status and queue depths; a family whose source is down
        is left out."""
        experiments = GaugeMetricFamily(
            "icl_it_experiments", "Experiments by status (from the database).", labels=["status"]
        )
        try:
            with self.app.state.sessionmaker() as s:
                rows = s.execute(
                    select(db.Experiment.status, func.count()).group_by(db.Experiment.status)
                ).all()
            counts = {status: 0 for status in STATUSES} | {str(k): int(n) for k, n in rows}
            for status, n in sorted(counts.items()):
                experiments.add_metric([status], n)
            yield experiments
        except Exception as exc:
            log.warning("metrics: experiments by status unavailable: %s", exc)
        depths = queue_depths(self.app.state.queue)
        if depths:
            depth = GaugeMetricFamily(
                "icl_it_queue_depth", "Tasks waiting in each queue (broker).", labels=["queue"]
            )
            for queue, n in depths.items():
                depth.add_metric([queue], n)
            yield depth


def queue_depths(queue: Any) -> dict[str, int]:
    """Messages waiting per queue, from the broker (any kombu transport)."""
    celery = getattr(queue, "celery", None)
    if celery is None:  # a test's in-memory queue
        return {}
    out: dict[str, int] = {}
    try:
        with celery.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = conn.default_channel
            for name in (GPU_QUEUE, ANALYSIS_QUEUE):
                # kombu's virtual-transport size (Redis: the list, all priority levels;
                # SQLAlchemy: the message rows). A passive queue_declare is no use here:
                # Redis answers NOT_FOUND for a queue that was published to but never
                # declared by a consumer.
                out[name] = int(channel._size(name))  # noqa: SLF001
    except Exception as exc:
        log.warning("metrics: queue depth unavailable: %s", exc)
        return {}
    return out


def _scrape_body(app: FastAPI, state: CollectorRegistry) -> bytes:
    return generate_latest(observability.metrics_registry()) + generate_latest(state)


def authorize_scrape(request: Request, session: SessionDep) -> None:
    """/metrics shows every owner's experiment counts: only ICL_IT_METRICS_TOKEN or an
    admin API key may read it on the API's port (compared in constant time)."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise Unauthorized(
            "/metrics needs 'Authorization: Bearer <admin API key or ICL_IT_METRICS_TOKEN>' "
            "(or a separate listener: ICL_IT_METRICS_PORT)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = request.app.state.settings.metrics_token
    if token and hmac.compare_digest(credential.encode(), token.encode()):
        return
    row = keys.find_active(session, credential)
    if row is None or not row.admin:
        raise Unauthorized("/metrics is for admin API keys and ICL_IT_METRICS_TOKEN only")


def serve_metrics_port(app: FastAPI, state: CollectorRegistry) -> Any:
    """The key-less listener on ICL_IT_METRICS_HOST:ICL_IT_METRICS_PORT (a private
    address for Prometheus); returns the server, or None when not configured."""
    settings = app.state.settings
    if not settings.metrics_port:
        return None
    from http.server import ThreadingHTTPServer
    from threading import Thread

    from prometheus_client.exposition import MetricsHandler

    class Both(Collector):
        def collect(self) -> Iterator[Any]:
            yield from observability.metrics_registry().collect()
            yield from state.collect()

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Both())
    try:
        server = ThreadingHTTPServer(
            (settings.metrics_host, settings.metrics_port), MetricsHandler.factory(registry)
        )
    except OSError as exc:  # e.g. `icl-it up`, whose workers share the variable
        log.warning("metrics listener not started on :%d: %s", settings.metrics_port, exc)
        return None
    Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on %s:%d/metrics", settings.metrics_host, settings.metrics_port)
    return server


def install_metrics(app: FastAPI, *, access_log_on: bool) -> CollectorRegistry:
    """The middleware and ``GET /metrics`` (behind a key); returns the scrape-time
    registry, for the separate listener (``serve_metrics_port``)."""
    app.add_middleware(MetricsMiddleware, access_log_on=access_log_on)
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(app))

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(authorize_scrape)])
    def prometheus_metrics(request: Request) -> Response:
        return Response(_scrape_body(app, state), media_type=CONTENT_TYPE_LATEST)

    return state

"""The HTTP gateway. ``create_app()`` builds it from settings; ``app`` is what uvicorn runs.

uvicorn services.api.main:app      (or: icl-it up, which also starts the workers)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from services.api import dashboard, health
from services.api.catalog.routes import router as catalog_router
from services.api.datasets.routes import router as datasets_router
from services.api.deps import warn_if_anonymous
from services.api.design.routes import router as design_router
from services.api.docs import install_docs
from services.api.errors import install_error_handlers
from services.api.experiments.routes import router as experiments_router
from services.api.experiments.schemas import ResultsTable
from services.api.openapi import install_openapi
from services.api.prometheus import install_metrics, serve_metrics_port
from services.api.queue import CeleryTaskQueue, TaskQueue
from services.api.rate_limits import RequestLimits
from services.api.security import SecurityHeadersMiddleware
from services.api.spec_text import router as spec_text_router
from services.common import db
from services.common.runtime import observability
from services.common.runtime.settings import Settings, get_settings
from services.common.spec import ExperimentSpec
from services.common.storage.artifacts import ArtifactStore

DESCRIPTION = """\
Test whether in-context learning behaves like implicit instruction tuning
(Duan et al. 2023, arXiv 2311.10367): submit an experiment spec, poll its status,
then fetch per-layer similarities of the anchor, ICL and IT hidden states.

Errors are problem details: `{type, title, status, detail, errors: [{loc, msg, type}]}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    queue: TaskQueue | None = None,
    run_migrations: bool = True,
) -> FastAPI:
    """The app from ``settings``: logging, tracing, routes, error handlers, metrics and docs.
    ``queue`` replaces Celery (tests); the database is migrated at startup if ``run_migrations``."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            await run_in_threadpool(db.migrate, settings.db_url)
        metrics_server = serve_metrics_port(app, scrape_registry)
        yield
        if metrics_server is not None:
            metrics_server.shutdown()
        observability.flush_traces()

    # uvicorn imports the app before it logs anything: from here on its lines are ours too
    observability.configure_logging("api", settings)
    # before the database engine exists, so that its queries are traced too
    if observability.configure_tracing("api"):
        observability.instrument_celery()  # task publishes carry the trace context

    app = FastAPI(
        title="icl-it",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # operation ids = function names: the generated client gets submit_experiment, ...
        generate_unique_id_function=lambda route: route.name,
        docs_url=None,  # served from local files: install_docs
        redoc_url=None,
    )
    app.state.settings = settings
    warn_if_anonymous(settings)
    app.state.sessionmaker = db.get_sessionmaker(settings.db_url)
    app.state.store = ArtifactStore(settings.artifacts)
    app.state.queue = queue or CeleryTaskQueue(settings)
    app.state.limits = RequestLimits(settings)  # shared through Redis when REDIS_URL is set
    install_error_handlers(app)
    scrape_registry = install_metrics(app, access_log_on=settings.access_log)
    install_docs(app)
    app.add_middleware(SecurityHeadersMiddleware)  # every page, error and file
    observability.instrument_fastapi(app)
    # the submit body (validated off-loop) and the results table (a hand-built response)
    install_openapi(app, extra_models=[ExperimentSpec, ResultsTable])
    app.include_router(health.router)
    app.include_router(experiments_router)
    app.include_router(datasets_router)
    app.include_router(catalog_router)
    app.include_router(spec_text_router)
    app.include_router(design_router)
    dashboard.install(app)
    return app


app = create_app()

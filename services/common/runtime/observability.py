"""Logs, metrics registries and traces for every service, configured from ``Settings``.

Logs: ``configure_logging(service)`` puts one handler on the root logger. With
``ICL_IT_LOG_FORMAT=json`` each record is one JSON object per line carrying the ids bound
in this context (``log_context(experiment_id=..., run_id=..., task_id=...)``) and, when a
span is current, its ``trace_id`` and ``span_id``. Celery's and uvicorn's loggers
propagate to the same handler.

Metrics: prometheus-client. Celery prefork children each keep their values in
``PROMETHEUS_MULTIPROC_DIR`` and the worker's main process serves them all
(``metrics_registry()``); a process without that directory uses the default registry.

Traces: ``configure_tracing(service)`` installs an OTLP/HTTP exporter only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set; otherwise tracing
stays off and costs nothing.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from services.common.runtime.settings import Settings, get_settings

CONTEXT_KEYS = ("experiment_id", "run_id", "task_id", "task")
_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "icl_it_log_context", default=None
)

# The LogRecord's own attributes: everything else on a record is an ``extra`` field.
_RECORD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


# -- context ------------------------------------------------------------------------------
def bind(**ids: str | None) -> contextvars.Token[Mapping[str, str] | None]:
    """Add ids to every log record of this context; returns a token for ``unbind``."""
    merged = {**(_context.get() or {}), **{k: str(v) for k, v in ids.items() if v is not None}}
    return _context.set(merged)


def unbind(token: contextvars.Token[Mapping[str, str] | None]) -> None:
    """Restore the log context that ``bind`` replaced."""
    _context.reset(token)


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Bind ids to every log record within the ``with`` block."""
    token = bind(**ids)
    try:
        yield
    finally:
        unbind(token)


def current_context() -> dict[str, str]:
    """A copy of the ids bound to this context's log records."""
    return dict(_context.get() or {})


def _trace_ids() -> dict[str, str]:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - opentelemetry-api is in the lock
        return {}
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


# -- logs ---------------------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, service, bound ids,
    trace ids, ``extra`` fields, and the formatted exception if any."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object per record: time, level, logger, message, service, the bound ids, the
        trace ids and any extra fields."""
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "pid": record.process,
        }
        out.update(_context.get() or {})
        out.update(_trace_ids())
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Plain lines, with the bound ids appended in brackets."""

    def __init__(self, service: str):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """The plain line followed by the bound ids in brackets (the task name left out)."""
        line = super().format(record)
        ids = " ".join(f"{k}={v}" for k, v in (_context.get() or {}).items() if k != "task")
        return f"{line} [{ids}]" if ids else line


def log_format(settings: Settings) -> str:
    """``text`` or ``json`` as configured; ``auto`` is text on a terminal and JSON otherwise."""
    if settings.log_format != "auto":
        return settings.log_format
    return "text" if sys.stderr.isatty() else "json"


def configure_logging(service: str, settings: Settings | None = None) -> None:
    """One stderr handler on the root logger; uvicorn's and Celery's loggers propagate
    to it. Safe to call more than once (the handler is replaced)."""
    settings = settings or get_settings()
    fmt = log_format(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter(service))
    handler.set_name("icl-it")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "icl-it"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    logging.captureWarnings(True)  # warnings become records (JSON) instead of raw stderr
    # uvicorn configures its own handlers before it imports the app: route them to ours
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's access log writes the raw URL, query string (and any key in it) included,
    # and propagating it would switch it back on under --no-access-log. The access log is
    # the API's own (ICL_IT_ACCESS_LOG, off unless asked for), with the query scrubbed.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True


# -- metrics ------------------------------------------------------------------------------
def ensure_multiproc_dir() -> str | None:
    """A worker serving metrics needs a directory shared by its pool processes: make a
    private one when ``PROMETHEUS_MULTIPROC_DIR`` is unset. Call before prometheus_client
    is imported (it reads the variable at import)."""
    if os.environ.get("ICL_IT_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="icl-it-metrics-")
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_registry() -> Any:
    """What a scrape should read: all processes' files in multi-process mode, else this
    process's default registry."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def clear_multiproc_dir() -> None:
    """Remove the files of earlier processes (a restarted worker starts from zero)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            with suppress(FileNotFoundError):
                os.remove(os.path.join(path, name))


# -- traces -------------------------------------------------------------------------------
def tracing_endpoint() -> str | None:
    """The OTLP endpoint traces are exported to, or None when tracing is off."""
    return (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


_tracing_service: str | None = None


def configure_tracing(service: str) -> bool:
    """Install the OTLP/HTTP exporter when an endpoint is configured (once per process).
    Forked pool children inherit it: the SDK's batch processor restarts its export
    thread after a fork."""
    global _tracing_service
    if tracing_endpoint() is None:
        return False
    if _tracing_service is not None:
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"icl-it-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracing_service = service
    trace_sql_statements()
    return True


def trace_sql_statements() -> None:
    """A client span per SQL statement, child of the current request or task span, for
    every engine (SQLAlchemy events on the Engine class, so engines made before this call
    count too). Not opentelemetry-instrumentation-sqlalchemy: its release declares
    SQLAlchemy < 2.1 and silently does nothing on the locked 2.1 (forced, it wraps the
    asyncio engine, which needs greenlet)."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    tracer = trace.get_tracer("icl_it.sqlalchemy")

    def start(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        verb = statement.split(None, 1)[0].upper() if statement.strip() else "SQL"
        context._icl_it_span = tracer.start_span(  # noqa: SLF001
            f"{verb} {conn.engine.url.database or ''}".strip(),
            kind=SpanKind.CLIENT,
            attributes={"db.system": conn.dialect.name, "db.statement": statement[:2000]},
        )

    def end(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        span = getattr(context, "_icl_it_span", None)
        if span is not None:
            span.end()

    def error(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, "_icl_it_span", None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR))
            span.end()

    event.listen(Engine, "before_cursor_execute", start)  # once: configure_tracing guards
    event.listen(Engine, "after_cursor_execute", end)
    event.listen(Engine, "handle_error", error)


def instrument_celery() -> None:
    """Spans for publishing (the API, a worker enqueuing the next task) and running tasks,
    linked through the message headers."""
    if tracing_endpoint() is None:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def instrument_fastapi(app: Any) -> None:
    """Trace the app's requests (health and metrics routes excepted) when tracing is on."""
    if tracing_endpoint() is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def flush_traces() -> None:
    """Export the spans still buffered (at shutdown), waiting at most 5 s."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:  # pragma: no cover
        return
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=5000)

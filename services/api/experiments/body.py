"""The submit body, read with a size limit and validated off the event loop.

FastAPI validates a declared body model on the event loop; a spec's validation expands
its runs, so the route takes the raw body and validates it in a worker thread with the
same error shapes (``loc`` starts with ``body``) as FastAPI's own validation, and with
every problem of the spec in one answer (``validate_submission``).
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from services.api.errors import BadRequest, ProblemItem, invalid
from services.api.experiments import checks
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec
from services.common.spec.diagnose import spec_issues
from services.common.spec.parsing import ParseError, load_json


def parse_error(exc: ParseError, field: str = "body") -> RequestValidationError:
    """A bounded parser's refusal as the 422 FastAPI gives for unparsable JSON (``loc``
    names the body, ``type`` the limit: json_invalid, too_deep, int_too_large, ...)."""
    where = [exc.line, exc.column] if exc.line is not None else []
    return RequestValidationError(
        [{"type": exc.kind, "loc": (field, *where), "msg": exc.msg, "input": {}}]
    )


def spec_problems(data: Any) -> tuple[ExperimentSpec | None, list[ProblemItem]]:
    """A parsed body -> (the spec or None, every problem pydantic finds, under ``body``)."""
    spec, issues = spec_issues(data)
    return spec, [ProblemItem(loc=["body", *i.loc], msg=i.msg, type=i.type) for i in issues]


def load_body(raw: bytes) -> Any:
    """A submitted body through the bounded JSON parser; every refusal a 4xx."""
    try:
        return load_json(raw)
    except ParseError as exc:
        if exc.kind == "unicode_error":
            raise BadRequest("the body is not UTF-8 JSON") from exc
        raise parse_error(exc) from exc


def validate_submission(
    session: Session, owner: str, raw: bytes, settings: Settings
) -> ExperimentSpec:
    """A submitted body -> the spec, or one 422 with every problem at once: the spec's
    own (fields, values, sweeps) and what this service cannot run (models, tasks,
    indices, layers), each once."""
    data = load_body(raw)
    spec, problems = spec_problems(data)
    problems += checks.catalog_problems(session, owner, data, spec, settings)
    session.rollback()  # the reads above end their transaction: no lock or snapshot held
    if spec is None or problems:
        raise invalid(problems)
    return spec

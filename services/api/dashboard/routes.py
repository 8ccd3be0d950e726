"""The web dashboard at ``/``: pages rendered by Jinja2, data read by a little plain JS.

Every number and every experiment on these pages comes from the public JSON API
(``/v1/...``), fetched by ``static/dashboard.js`` with the same ``Authorization: Bearer``
key as any client, so ownership and auth are exactly the API's (``services/api/deps.py``);
the pages themselves hold no user data. The one helper route here, ``POST /ui/parse-spec``,
turns the form's YAML text into JSON and touches no state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from services.api.errors import Invalid, PayloadTooLarge
from services.common.spec.presets import PRESETS, SCALES

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
router = APIRouter(include_in_schema=False)
MAX_SPEC_TEXT = 256 * 1024


def install(app: FastAPI) -> None:
    """Mount the dashboard's pages and its static files (local; no CDN, no build step)."""
    app.include_router(router)
    app.mount("/ui/static", static, name="dashboard-static")


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"page": template[:-5], **context})


@router.get("/", response_class=HTMLResponse)
def experiments_page(request: Request) -> HTMLResponse:
    return _page(request, "index.html")


@router.get("/ui/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(request: Request, experiment_id: str) -> HTMLResponse:
    return _page(request, "experiment.html", experiment_id=experiment_id)


@router.get("/ui/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: str = "", b: str = "") -> HTMLResponse:
    return _page(request, "compare.html", a=a, b=b)


@router.get("/ui/submit", response_class=HTMLResponse)
def submit_page(request: Request) -> HTMLResponse:
    return _page(request, "submit.html", presets=list(PRESETS), scales=list(SCALES))


@router.post("/ui/parse-spec")
async def parse_spec(request: Request) -> dict[str, Any]:
    """YAML or JSON text (the request body) -> the JSON object the form merges its fields
    into; a syntax error is a 422 at ``spec_text``, shown next to the text box."""
    raw = await request.body()
    if len(raw) > MAX_SPEC_TEXT:
        raise PayloadTooLarge(f"spec text is limited to {MAX_SPEC_TEXT} bytes")
    text = raw.decode("utf-8", errors="replace")
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise Invalid.at(["spec_text"], f"not valid YAML/JSON{where}", "yaml_error") from None
    if not isinstance(data, dict):
        raise Invalid.at(["spec_text"], "the spec must be a mapping of fields", "type_error")
    return data

"""The web dashboard at ``/``: pages rendered by Jinja2, data read by a little plain JS.

Every number and every experiment on these pages comes from the public JSON API
(``/v1/...``), fetched by ``static/dashboard.js`` with the same ``Authorization: Bearer``
key as any client, so ownership and auth are exactly the API's (``services/api/deps.py``);
the pages themselves hold no user data. ``/login#key=...`` signs a tab in without the
key reaching the server or staying in the page. The form's helper route, ``POST /ui/parse-spec``,
is an API route like the others (key, limits): ``services/api/spec_text.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from services.common.spec.presets import PRESETS, SCALES

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """Mount the dashboard's pages and its static files (local; no CDN, no build step)."""
    app.include_router(router)
    app.mount("/ui/static", static, name="dashboard-static")


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"page": template[:-5], **context})


@router.get("/", response_class=HTMLResponse)
def experiments_page(request: Request) -> HTMLResponse:
    """The dashboard's list of experiments."""
    return _page(request, "index.html")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """``/login#key=...`` (the link ``icl-it up`` prints): the page's script moves the key
    from the fragment, which browsers never send, into the tab's sessionStorage, drops the
    fragment from the address bar and the history, and opens the experiments."""
    return _page(request, "login.html")


@router.get("/ui/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(request: Request, experiment_id: str) -> HTMLResponse:
    """One experiment: progress, events, results and its report."""
    return _page(request, "experiment.html", experiment_id=experiment_id)


@router.get("/ui/compare", response_class=HTMLResponse)
def compare_page(request: Request, ids: str = "", a: str = "", b: str = "") -> HTMLResponse:
    """Any number of experiments overlaid (``?ids=x,y,z``; ``?a=&b=`` as before)."""
    named = [i for i in (*ids.replace(",", " ").split(), a.strip(), b.strip()) if i]
    return _page(request, "compare.html", ids=", ".join(dict.fromkeys(named)))


@router.get("/ui/submit", response_class=HTMLResponse)
def submit_page(request: Request) -> HTMLResponse:
    """A form that validates a spec (YAML or JSON) and submits it."""
    return _page(request, "submit.html", presets=list(PRESETS), scales=list(SCALES))

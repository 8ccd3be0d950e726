"""/docs (Swagger UI) and /redoc served from files shipped in this package, so that the
pages work in a lab without internet access: no CDN script, stylesheet or font."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.api.security import csp_with_script_hashes

STATIC = Path(__file__).with_name("static")
PREFIX = "/static/docs"


def install_docs(app: FastAPI) -> None:
    """Call with ``FastAPI(docs_url=None, redoc_url=None)``."""
    app.mount(PREFIX, StaticFiles(directory=STATIC), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _with_csp(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{PREFIX}/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{PREFIX}/swagger-ui/swagger-ui.css",
                swagger_favicon_url=f"{PREFIX}/swagger-ui/favicon-32x32.png",
                # no badge that asks validator.swagger.io about the schema
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _with_csp(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{PREFIX}/redoc/redoc.standalone.js",
                redoc_favicon_url=f"{PREFIX}/swagger-ui/favicon-32x32.png",
                with_google_fonts=False,
            )
        )


def _with_csp(page: HTMLResponse) -> HTMLResponse:
    """The pages' policy, plus the library's own inline start-up script (by hash) and
    ReDoc's search worker (a blob: URL)."""
    html = bytes(page.body).decode()
    csp = csp_with_script_hashes(html) + "; worker-src 'self' blob:"
    page.headers["Content-Security-Policy"] = csp
    return page

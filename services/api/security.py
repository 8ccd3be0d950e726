"""Browser-facing hardening: one middleware sets the security headers on every response.

- ``Content-Security-Policy``: scripts only from this server's files (no inline script,
  no inline event handler, no eval), nothing may frame a page (``frame-ancestors
  'none'``), no plugins, no ``<base>``. Inline *styles* stay allowed: the report is shown
  in a sandboxed ``srcdoc`` frame, which inherits the page's policy and carries its own
  ``<style>``; the docs pages' bundles inject styles too.
- ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a JSON or CSV body is never run as a script.
- ``Referrer-Policy: no-referrer``: experiment ids in URLs do not leave with a link.

A route that needs another policy sets its own header (the middleware only fills in
what is missing): the report is served with a CSP ``sandbox`` (``REPORT_CSP``), the
Swagger page allows its one inline script by hash (``csp_with_script_hashes``).
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# A report opened straight from the API (not through the dashboard) runs in an opaque
# origin: no script, no same-origin access to the API or to the dashboard's storage.
REPORT_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": PAGE_CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def csp_with_script_hashes(html: str) -> str:
    """PAGE_CSP that also allows exactly the inline scripts of ``html`` (by sha256), for
    pages whose HTML comes from a library (Swagger UI's start-up script)."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return PAGE_CSP.replace("script-src 'self'", "script-src 'self' " + " ".join(hashes))


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- what the access log may show -----------------------------------------------------------
_SECRET_NAME = re.compile(r"key|token|secret|passw|auth|session|signature|credential", re.I)
REDACTED = "[redacted]"


def scrub_query(query: str) -> str:
    """The query string with the value of every parameter named like a secret
    (``api_key``, ``key``, ``token``, ``access_token``, ``password``...) replaced, so that
    a key a client put in the URL never reaches a log line."""
    if not query:
        return ""
    parts = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and _SECRET_NAME.search(name) else pair)
    return "&".join(parts)

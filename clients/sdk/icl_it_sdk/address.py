"""Where a client finds the API and its key without being told: the address ``icl-it up``
listens on, and the key a local stack wrote."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def default_url() -> str:
    """Where the API is when no URL is given: ``$ICL_IT_URL``, else the address
    ``icl-it up`` listens on, ``http://$ICL_IT_HOST:$ICL_IT_PORT`` (a wildcard host such
    as 0.0.0.0 is reached on 127.0.0.1; defaults 127.0.0.1 and 8000)."""
    url = os.environ.get("ICL_IT_URL")
    if url:
        return url.rstrip("/")
    host = os.environ.get("ICL_IT_HOST", "").strip()
    host = "127.0.0.1" if host in _WILDCARD_HOSTS else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    port = os.environ.get("ICL_IT_PORT", "").strip() or "8000"
    return f"http://{host}:{port}"


def local_key() -> str | None:
    """The key a local stack wrote to ``$ICL_IT_HOME/api_key`` (default home: ./var), if
    there is one: what ``icl-it up`` and ``make demo`` use, and the CLI's default too."""
    home = Path(os.environ.get("ICL_IT_HOME") or "var")
    try:
        return (home / "api_key").read_text().strip() or None
    except OSError:
        return None

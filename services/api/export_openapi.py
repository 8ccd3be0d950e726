"""Print the served OpenAPI document (``make openapi`` writes it to openapi.json)."""

from __future__ import annotations

import json
import sys


def openapi_json() -> str:
    """The API's OpenAPI document as formatted JSON, built without a database."""
    from services.api.main import create_app

    return json.dumps(create_app(run_migrations=False).openapi(), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_json())

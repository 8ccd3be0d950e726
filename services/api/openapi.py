"""Finishing touches on the served OpenAPI document.

- Problem bodies are documented as ``application/problem+json``, the type they are
  served with (FastAPI says application/json for every ``model=Problem`` response).
- Models a route validates by itself (the submit body, validated off the event loop)
  are added to ``components.schemas`` as FastAPI would have added them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import OpenAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.api.errors import PROBLEM_MEDIA_TYPE

REF_TEMPLATE = "#/components/schemas/{model}"


def _problem_media_type(schema: dict[str, Any]) -> None:
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                body = content.get("application/json", {}).get("schema", {})
                if code[:1] in "45" and body.get("$ref", "").endswith("/Problem"):
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _add_models(schema: dict[str, Any], models: Sequence[type[BaseModel]]) -> None:
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF_TEMPLATE)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in defs.get("$defs", {}).items():
        components.setdefault(name, definition)
    schema["components"]["schemas"] = dict(sorted(components.items()))


def install_openapi(app: FastAPI, extra_models: Sequence[type[BaseModel]] = ()) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        _problem_media_type(schema)
        _add_models(schema, extra_models)
        # normalised the way FastAPI writes its own part (numbers, nulls, key order)
        schema = jsonable_encoder(OpenAPI(**schema), by_alias=True, exclude_none=True)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

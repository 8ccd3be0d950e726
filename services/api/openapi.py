"""Finishing touches on the served OpenAPI document.

- Problem bodies are documented as ``application/problem+json``, the type they are
  served with (FastAPI says application/json for every ``model=Problem`` response).
- Models a route validates by itself (the submit body, validated off the event loop)
  are added to ``components.schemas`` as FastAPI would have added them.
- The results document's JSON Schema (services/common/schemas/results.schema.json, the
  one the analysis output is tested against) becomes ``ResultsDocument`` and its
  ``$defs`` become ``Results<Name>`` components, so clients get a typed document
  without a second, hand-written copy of the schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import OpenAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.api.errors import PROBLEM_MEDIA_TYPE

REF_TEMPLATE = "#/components/schemas/{model}"
RESULTS_DOCUMENT = "ResultsDocument"
RESULTS_REF = REF_TEMPLATE.format(model=RESULTS_DOCUMENT)


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


_NAME_ALTERNATION = re.compile(r"\^\(([A-Za-z0-9_]+(?:\|[A-Za-z0-9_]+)*)\)\$")


def _pattern_properties_as_properties(node: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    properties = dict(node.get("properties", {}))
    for pattern, definition in node.pop("patternProperties").items():
        names = _NAME_ALTERNATION.fullmatch(pattern)
        if names is None:
            raise ValueError(f"patternProperties {pattern!r}: only ^(a|b)$ maps to properties")
        for name in names.group(1).split("|"):
            if name in properties:
                raise ValueError(f"{name!r} is both a property and a pattern")
            properties[name] = definition
    node["properties"] = properties
    return node


def _properties_into_all_of(node: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    own = {k: node.pop(k) for k in ("type", "properties", "required") if k in node}
    node["allOf"] = [*node["allOf"], own]
    return node


def results_components() -> dict[str, Any]:
    """``ResultsDocument`` and one ``Results<Name>`` per ``$defs`` entry of the results
    JSON Schema, with ``#/$defs/x`` refs pointing at the components.

    ``$id`` would make every ``#/components/...`` ref inside resolve against the schema's
    own URL, and ``$schema`` is the document's dialect already (OpenAPI 3.1 = 2020-12):
    both go. Three rewrites say the same thing in a form openapi-python-client reads (it
    drops ``patternProperties``, reads ``allOf`` of one ref as that ref alone, ignoring
    the properties beside it, and refuses an array without ``items``): a pattern that is
    an alternation of names, ``^(a|b)$``, becomes those properties; properties beside an
    ``allOf`` become one more ``allOf`` entry; an array gets ``items: {}``. Everything
    else (``const``, type arrays with null, ``propertyNames``) is valid 3.1 and is kept
    as it is. tests/client/test_results_document.py checks that the component accepts
    and rejects what the source schema does.
    """
    text = resources.files("services.common").joinpath("schemas/results.schema.json")
    document = json.loads(text.read_text())
    document.pop("$schema", None)
    document.pop("$id", None)
    # generators name the class after the title: keep the schema's title as prose
    document["description"] = f"{document.pop('title')}. {document['description']}"
    document["title"] = RESULTS_DOCUMENT
    defs: dict[str, Any] = document.pop("$defs", {})
    names = {name: f"Results{name[:1].upper()}{name[1:]}" for name in defs}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node = {**node, "$ref": REF_TEMPLATE.format(model=names[ref[len("#/$defs/") :]])}
            if node.get("type") == "array" and "items" not in node and "prefixItems" not in node:
                node = {**node, "items": {}}
            if "patternProperties" in node:
                node = _pattern_properties_as_properties(node)
            if "allOf" in node and "properties" in node:
                node = _properties_into_all_of(node)
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    components = {RESULTS_DOCUMENT: rewrite(document)}
    components.update({names[name]: rewrite(definition) for name, definition in defs.items()})
    return components


def _add_schemas(schema: dict[str, Any], extra: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    clash = sorted(set(extra) & set(components))
    if clash:
        raise ValueError(f"component names taken twice: {clash}")
    components.update(extra)
    schema["components"]["schemas"] = dict(sorted(components.items()))


def install_openapi(app: FastAPI, extra_models: Sequence[type[BaseModel]] = ()) -> None:
    """Replace ``app.openapi`` with one that adds the problem media type, ``extra_models`` and the
    results schemas, built once and cached."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        _problem_media_type(schema)
        _add_models(schema, extra_models)
        _add_schemas(schema, results_components())
        # normalised the way FastAPI writes its own part (numbers, nulls, key order)
        schema = jsonable_encoder(OpenAPI(**schema), by_alias=True, exclude_none=True)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

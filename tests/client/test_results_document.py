"""The typed results document: the OpenAPI component is the analysis's JSON Schema.

``ResultsDocument`` in openapi.json is made from services/common/schemas/results.schema.json
(services/api/openapi.py). Checked on a real document (the committed default report) and
on a synthetic sweep with the random-init control (trends, controls, paired tests):

- the component accepts and rejects exactly what the source schema does;
- the generated client parses the document into typed models and writes it back unchanged;
- the route documents the document and its ``?table=`` form, each matching one branch.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.analysis.per_run import run_similarities
from services.analysis.summarize import summarize_experiment
from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage import exports
from tests.analysis.test_summarize_report import N_EX, synthetic_states

REPO = Path(__file__).resolve().parents[2]
SOURCE = json.loads((REPO / "services/common/schemas/results.schema.json").read_text())
OPENAPI = json.loads((REPO / "openapi.json").read_text())
RESULTS_OPERATION = OPENAPI["paths"]["/v1/experiments/{experiment_id}/results"]["get"]


def _component_validator(ref: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for a schema that refers into openapi.json's components."""
    schema = {**ref, "components": OPENAPI["components"]}
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


DOCUMENT = _component_validator({"$ref": "#/components/schemas/ResultsDocument"})
SOURCE_VALIDATOR = jsonschema.Draft202012Validator(SOURCE)


@functools.cache
def _synthetic() -> dict[str, Any]:
    spec = ExperimentSpec(
        name="typed", inference={"n": N_EX}, sweep={"demos.k": [1, 4]}, seeds=[0, 1]
    )
    runs = [
        run_similarities(
            rc.model_dump(mode="json"),
            synthetic_states(rc.seed * 10 + rc.demos.k, rc.demos.k, rc.control == "random_init"),
            list(spec.metrics),
        )
        for rc in expand_runs(spec)
    ]
    return json.loads(json.dumps(summarize_experiment(spec.model_dump(mode="json"), runs)))


@pytest.fixture(scope="module", params=["default-report", "synthetic-sweep"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "default-report":
        path = REPO / "docs/reports/duan2023-default/results.json"
        return json.loads(path.read_text())
    return copy.deepcopy(_synthetic())


def _mutations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Edits each schema rejects (or, for the last two, accepts), at several depths."""

    def edit(change: Any) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        change(out)
        return out

    stats = ["cells", 0, "metrics", "cosine", "icl_it"]

    def at(d: Any, path: list[Any]) -> Any:
        for key in path:
            d = d[key]
        return d

    return {
        "wrong schema id": edit(lambda d: d.update(schema="icl-it/results/v0")),
        "no cells": edit(lambda d: d.pop("cells")),
        "extra key in layer stats": edit(lambda d: at(d, stats).update(median=[0.0])),
        "string in a layer series": edit(lambda d: at(d, stats)["mean"].__setitem__(0, "x")),
        "negative count": edit(lambda d: at(d, stats)["n"].__setitem__(0, -1)),
        "unknown metric": edit(lambda d: at(d, stats[:3]).update(cosin={})),
        "bad statement kind": edit(lambda d: d["statements"][0].update(kind="secondary")),
        "run without a key": edit(lambda d: d["runs"][0].pop("key")),
        "p value above one": edit(lambda d: d["studies"][0]["tests"][0].update(p_value=1.5)),
        "null in a layer series (allowed)": edit(
            lambda d: at(d, stats)["mean"].__setitem__(0, None)
        ),
        "extra top-level key (allowed)": edit(lambda d: d.update(timings={"total": 1.0})),
    }


def test_source_schema_and_component_agree(document: dict[str, Any]) -> None:
    assert SOURCE_VALIDATOR.is_valid(document)
    DOCUMENT.validate(document)
    for name, mutated in _mutations(document).items():
        source, component = SOURCE_VALIDATOR.is_valid(mutated), DOCUMENT.is_valid(mutated)
        assert source == component, f"{name}: source says {source}, component {component}"
        assert source == name.endswith("(allowed)"), name


def test_generated_model_parses_and_round_trips(document: dict[str, Any]) -> None:
    from icl_it_client.models import ResultsDocument

    parsed = ResultsDocument.from_dict(document)
    assert parsed.to_dict() == document  # nothing dropped, nothing added

    cell, raw = parsed.cells[0], document["cells"][0]
    stats = cell.metrics["cosine"]["icl_it"]
    assert stats.mean == raw["metrics"]["cosine"]["icl_it"]["mean"]
    assert len(stats.mean) == cell.n_layers + 2
    assert [s.text for s in parsed.statements] == [s["text"] for s in document["statements"]]
    assert parsed.studies[0].tests[0].metric.value == document["studies"][0]["tests"][0]["metric"]
    for control, raw_control in zip(
        parsed.controls.random_init, document["controls"]["random_init"], strict=True
    ):
        # ^(icl_it|anchor_icl|anchor_it)$ patternProperties became typed fields
        point, raw_point = control.metrics["cosine"].icl_it, raw_control["metrics"]["cosine"]
        assert point.random_init.mean == raw_point["icl_it"]["random_init"]["mean"]


def test_synthetic_sweep_has_the_optional_parts() -> None:
    """The synthetic document reaches what the default report does not."""
    doc = _synthetic()
    study = doc["studies"][0]
    assert study["trends"] and study["tests"] and doc["controls"]["random_init"]


def test_results_route_documents_the_document_and_the_table(document: dict[str, Any]) -> None:
    content = RESULTS_OPERATION["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", "application/vnd.apache.parquet"}
    body = _component_validator(content["application/json"]["schema"])
    body.validate(document)
    body.validate(exports.to_records(exports.cell_table(document, "e1")))
    assert not body.is_valid({"columns": ["a"]})
    assert not body.is_valid({**document, "schema": None})

"""Issue 20: every problem of a spec in one 422, each once, located by its path, with a
"did you mean" for unknown keys and values (the spec model's errors and the catalog's
together). In-process app on SQLite, real API keys."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from test_api import SPEC, assert_problem, submit

pytestmark = pytest.mark.anyio


def _by_loc(body: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(e["loc"]): e for e in body["errors"]}


async def test_every_stage_in_one_answer_with_suggestions(client):
    spec = {
        **SPEC,
        "demos": {"k": 0, "selection": "most_similr"},  # a limit and a mistyped value
        "lora": {"rr": 4},  # a mistyped key
        "data": {"task": "sentimnt"},  # an unknown task: the catalog's check
        "model": {"name": "lama-2-7b"},  # not on the allow-list: the catalog's check
        "controls": ["cross_adapter", "random_lor"],  # a mistyped enum value in a list
    }
    body = assert_problem(await submit(client, spec), 422)
    errors = _by_loc(body)
    assert set(errors) == {
        ("body", "demos", "k"),
        ("body", "demos", "selection"),
        ("body", "lora", "rr"),
        ("body", "data", "task"),
        ("body", "model", "name"),
        ("body", "controls", 1),
    }, body
    assert "did you mean 'most_similar'?" in errors["body", "demos", "selection"]["msg"]
    assert "did you mean 'r'?" in errors["body", "lora", "rr"]["msg"]
    assert errors["body", "lora", "rr"]["type"] == "unknown_field"
    assert "did you mean 'sentiment'?" in errors["body", "data", "task"]["msg"]
    assert errors["body", "data", "task"]["type"] == "unknown_task"
    assert "did you mean 'llama-2-7b'?" in errors["body", "model", "name"]["msg"]
    assert "did you mean 'random_lora'?" in errors["body", "controls", 1]["msg"]
    assert body["detail"].startswith(f"{len(errors)} errors: ")
    assert (await client.get("/v1/experiments")).json()["data"] == []


async def test_sweep_errors_name_each_key_and_value(client):
    spec = {
        **SPEC,
        "sweep": {"demos.kk": [1, 2], "demos.selection": ["random", "most_similr", "nope"]},
    }
    errors = _by_loc(assert_problem(await submit(client, spec), 422))
    assert set(errors) == {
        ("body", "sweep", "demos.kk"),
        ("body", "sweep", "demos.selection", 1),
        ("body", "sweep", "demos.selection", 2),
    }
    assert "did you mean 'demos.k'?" in errors["body", "sweep", "demos.kk"]["msg"]
    assert "did you mean 'most_similar'?" in errors["body", "sweep", "demos.selection", 1]["msg"]
    assert "did you mean" not in errors["body", "sweep", "demos.selection", 2]["msg"]


async def test_a_value_named_twice_is_one_error_per_place_and_never_repeated(client):
    spec = {
        **SPEC,
        "data": {"task": "nope"},
        "studies": [
            {"name": "a", "sweep": {"data.task": ["nope", "sentiment"]}},
            {"name": "b", "sweep": {"demos.k": [1, 2]}, "overrides": {"data.task": "nope"}},
        ],
    }
    body = assert_problem(await submit(client, spec), 422)
    counted = Counter((tuple(e["loc"]), e["msg"]) for e in body["errors"])
    assert max(counted.values()) == 1, body
    # the unknown task is said once, where the spec first names it
    assert [e["loc"] for e in body["errors"] if e["type"] == "unknown_task"] == [
        ["body", "data", "task"]
    ]


async def test_a_valid_spec_with_catalog_problems_lists_them_all(client):
    spec = {
        **SPEC,
        "report_layer": 99,
        "inference": {"indices": [0, 100000]},
        "sweep": {"data.task": ["sentiment", "topc"]},
    }
    errors = _by_loc(assert_problem(await submit(client, spec), 422))
    assert {"report_layer_out_of_range", "index_out_of_range", "unknown_task"} <= {
        e["type"] for e in errors.values()
    }, errors
    assert "did you mean 'topic'?" in errors["body", "sweep", "data.task", 1]["msg"]


async def test_dataset_errors_are_not_prefixed_twice(client):
    r = await client.post("/v1/datasets", content=b'{not json}\n{"text": "a", "label": "b"}\n')
    body = assert_problem(r, 422)
    (err,) = body["errors"]
    assert err["loc"] == ["body"] and err["msg"].startswith("line 1")
    assert "body: body" not in body["detail"]


@pytest.mark.parametrize("name", ["/models/a\x00b", "../../etc", "x/../../y", "~nobody_here/m"])
async def test_a_hostile_model_name_is_the_spec_models_error_only(client, name):
    """The catalog checks look up only values their field accepts: a NUL or '..' in a
    model name is one 422 from the spec model (never a 500 from resolving the path)."""
    body = assert_problem(await submit(client, {**SPEC, "model": {"name": name}}), 422)
    assert ["body", "model", "name"] in [e["loc"] for e in body["errors"]] or body["errors"][0][
        "loc"
    ] == ["body"], body
    if not name.startswith("~"):  # a home that does not exist is the catalog's refusal
        assert all(e["type"] != "model_not_allowed" for e in body["errors"]), body

"""POST /v1/datasets with a format and a column mapping (issue 20): CSV, Parquet and
Hugging Face-style JSONL; a 422 names the row and the column; data.hf is checked at submit."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_api import SPEC, assert_problem
from test_hardening import _app, _client, _key

from services.common.runtime.settings import apply_local_defaults

pytestmark = pytest.mark.anyio
CSV = b"sentence,label\nA fine film.,1\nDull and long.,0\nLoved it.,1\n"
MAPPING = {"text_column": "sentence", "label_column": "label"}


async def test_a_csv_upload_with_a_column_mapping(client):
    params: Any = {**MAPPING, "label_names": ["negative", "positive"]}
    response = await client.post("/v1/datasets", content=CSV, params=params)
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["kind"] == "classification" and dataset["n_rows"] == 3
    # a spec names it as any upload
    body = {**SPEC, "data": {"task": dataset["task"]}}
    assert (await client.post("/v1/experiments", json=body)).status_code == 202


async def test_parquet_and_jsonl_uploads_with_a_mapping(client):
    buf = io.BytesIO()
    pq.write_table(pa.table({"sentence": ["good", "bad"], "label": [1, 0]}), buf)
    response = await client.post("/v1/datasets", content=buf.getvalue(), params=MAPPING)
    assert response.status_code == 201, response.text
    rows = b'{"sentence": "good", "label": 1}\n{"sentence": "bad", "label": 0}\n'
    response = await client.post("/v1/datasets", content=rows, params=MAPPING)
    assert response.status_code == 201 and response.json()["n_rows"] == 2


async def test_a_bad_row_is_a_422_naming_the_row_and_the_column(client):
    params: Any = {**MAPPING, "label_names": ["negative"], "format": "csv"}
    body = assert_problem(await client.post("/v1/datasets", content=CSV, params=params), 422)
    assert "row 1: column 'label': label 1 has no name" in body["detail"]
    wrong = {"text_column": "text", "label_column": "label"}
    body = assert_problem(await client.post("/v1/datasets", content=CSV, params=wrong), 422)
    assert "no column 'text' (columns: label, sentence)" in body["detail"]
    body = assert_problem(
        await client.post("/v1/datasets", content=CSV, params={"format": "xlsx"}), 422
    )
    assert body["errors"][0]["loc"][-1] == "format"


async def test_a_hugging_face_dataset_is_refused_on_a_shared_server_by_default(client):
    # the test app has the shared-server defaults: ICL_IT_HUB_DATASETS and ICL_IT_DATA_DIRS
    # empty, so no Hugging Face dataset may be read
    for hf in ("stanfordnlp/imdb", "/data/saved"):
        spec = {**SPEC, "data": {"hf": hf, "text_column": "sentence"}}
        body = assert_problem(await client.post("/v1/experiments", json=spec), 422)
        assert body["errors"][0]["loc"] == ["body", "data", "hf"], body
        assert body["errors"][0]["type"] == "dataset_not_allowed"
    spec = {**SPEC, "data": {"task": "sentiment", "hf": "stanfordnlp/imdb"}}
    body = assert_problem(await client.post("/v1/experiments", json=spec), 422)
    assert "not both" in body["detail"]


async def test_a_single_user_stack_accepts_hub_models_and_datasets(tmp_path, api_app):
    """``icl-it up`` (apply_local_defaults): any org/name model id and any dataset id at
    submit; a user's own ICL_IT_HUB_MODELS, even empty, wins over the default."""
    env: dict[str, str] = {}
    apply_local_defaults(env)
    app = _app(tmp_path, api_app, **env)
    spec = {
        **SPEC,
        "model": {"name": "HuggingFaceTB/SmolLM2-135M-Instruct"},
        "data": {"hf": "stanfordnlp/imdb", "split": "test[:200]"},
    }
    async with _client(app, _key(app)) as c:
        response = await c.post("/v1/experiments", json=spec)
        assert response.status_code == 202, response.text
        # a path is still not a Hub id, and nothing outside the allowed directories loads
        bad = {**SPEC, "model": {"name": "HuggingFaceTB/SmolLM2/extra"}}
        body = assert_problem(await c.post("/v1/experiments", json=bad), 422)
        assert body["errors"][0]["type"] == "model_not_allowed"
    mine = {"ICL_IT_HUB_MODELS": ""}
    apply_local_defaults(mine)
    assert mine["ICL_IT_HUB_MODELS"] == "" and mine["ICL_IT_HUB_DATASETS"] == "*,*/*"

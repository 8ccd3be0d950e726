"""Issue 20 through the real stack: on a single-user stack's defaults
(``apply_local_defaults``, as ``icl-it up`` applies them), a spec naming a Hub id and a
Hugging Face dataset is accepted, and the worker loads the model from the Hub cache and
the dataset from a save_to_disk directory, offline."""

from __future__ import annotations

import datasets
import pytest

from services.common.runtime.settings import apply_local_defaults
from tests.fixtures.helpers import running_stack, stack_env, tiny_spec, wait_status
from tests.fixtures.hub_cache import lay_out_hub_cache

pytestmark = pytest.mark.services
REPO_ID = "tiny-org/tiny-llama"


def test_a_hub_model_and_a_hugging_face_dataset_on_a_local_stack(tmp_path, tiny_model_dir):
    hub = tmp_path / "hub"
    lay_out_hub_cache(hub, REPO_ID, tiny_model_dir)
    saved = tmp_path / "data" / "reviews"
    sentences = [f"Film {i} was {'good' if i % 2 else 'bad'}." for i in range(10)]
    rows = {"sentence": sentences, "label": [i % 2 for i in range(10)]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(saved))
    env = stack_env(
        tmp_path / "home",
        tiny_model_dir,
        HF_HUB_CACHE=str(hub),
        HF_ENDPOINT="http://127.0.0.1:9",  # a closed port: any request would fail
        ICL_IT_DATA_DIRS=str(saved.parent),
    )
    for name in ("ICL_IT_HUB_MODELS", "ICL_IT_HUB_DATASETS"):
        env.pop(name, None)
    apply_local_defaults(env)
    data = {"hf": str(saved), "text_column": "sentence", "label_names": ["bad", "good"]}
    spec = tiny_spec(tiny_model_dir, model={"name": REPO_ID}, data=data)
    with running_stack(env, tmp_path / "stack.log") as (_, client):
        response = client.post("/v1/experiments", json=spec)
        assert response.status_code == 202, response.text
        done = wait_status(client, response.json()["id"], timeout=240)
        assert done["status"] == "succeeded", done
        results = client.get(f"/v1/experiments/{done['id']}/results").json()
    assert results["spec"]["model"]["name"] == REPO_ID
    assert results["spec"]["data"]["hf"] == str(saved)

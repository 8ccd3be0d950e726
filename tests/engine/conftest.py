from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import Settings


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from services.gpu_worker.models import save_tiny_llama

    root = tmp_path_factory.mktemp("models")
    return save_tiny_llama(root / "tiny-llama", seed=0)


@pytest.fixture(scope="session")
def engine_settings(tiny_dir: Path) -> Settings:
    return Settings(ICL_IT_MODEL_DIRS=str(tiny_dir.parent))


@pytest.fixture(scope="session")
def engine(engine_settings: Settings):
    import torch

    from services.gpu_worker.engine import Engine

    return Engine(settings=engine_settings, device=torch.device("cpu"))


@pytest.fixture(scope="session")
def smol_tokenizer():
    from transformers import AutoTokenizer

    from services.gpu_worker.models import embedded_model_dir

    return AutoTokenizer.from_pretrained(embedded_model_dir())

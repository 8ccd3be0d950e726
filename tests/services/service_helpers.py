"""Helpers for the stack tests: environments, the tiny spec, polling."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.stack import Stack

TERMINAL = {"succeeded", "failed", "cancelled"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stack_env(home: Path, tiny_model_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "ARTIFACT_URL", "ICL_IT_BROKER_PREFIX")
    }
    env.update(
        ICL_IT_HOME=str(home),
        ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent),
        ICL_IT_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
        **extra,
    )
    return env


def tiny_spec(model_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A spec that runs in about a second per run on a CPU with the tiny model."""
    spec: dict[str, Any] = {
        "name": "tiny",
        "model": {"name": str(model_dir)},
        "inference": {"n": 4},
        "demos": {"k": 2},
        "lora": {"epochs": 2},
        "controls": ["untuned_adapter"],
        "seeds": [0],
    }
    spec.update(overrides)
    return spec


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_status(client: httpx.Client, experiment_id: str, timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = client.get(f"/v1/experiments/{experiment_id}").json()
        return body if body["status"] in TERMINAL else None

    return wait_for(done, timeout, f"experiment {experiment_id} to finish")


def events(client: httpx.Client, experiment_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        params = {"limit": 1000, **({"after": after} if after else {})}
        page = client.get(f"/v1/experiments/{experiment_id}/events", params=params).json()
        out += page["data"]
        if not page["has_more"]:
            return out
        after = page["next_cursor"]


@contextmanager
def running_stack(env: dict[str, str], log_path: Path) -> Iterator[tuple[Stack, httpx.Client]]:
    """API + GPU worker + analysis worker as real processes; logs go to ``log_path``."""
    with open(log_path, "w") as log:
        stack = Stack(env, port=free_port(), log=log)
        try:
            stack.start()
            stack.wait_ready(timeout=90)
            headers = {"Authorization": f"Bearer {stack.api_key}"}  # the local admin key
            with httpx.Client(base_url=stack.url, timeout=30, headers=headers) as client:
                yield stack, client
        except BaseException:
            log.flush()
            print(log_path.read_text()[-6000:])  # shown by pytest on failure
            raise
        finally:
            stack.stop(grace=2)

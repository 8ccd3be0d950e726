"""The Hugging Face Hub cache (``HF_HUB_CACHE``, i.e. ``$HF_HOME/hub``) as this service
reads it: whether a model is there, complete, at a revision. Torch-free, so that the CLI
(``icl-it models pull``) and the worker ask the same question."""

from __future__ import annotations

from pathlib import Path


def cached_snapshot(
    repo_id: str, revision: str | None = None, cache_dir: Path | None = None
) -> Path | None:
    """The snapshot directory of ``repo_id`` at ``revision`` (a branch, tag or commit;
    default main) when the Hub cache holds its config and weights, else None. Nothing is
    asked of the Hub."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(
        repo_id, "config.json", cache_dir=str(cache_dir) if cache_dir else None, revision=revision
    )
    if not isinstance(config, str):
        return None
    snapshot = Path(config).parent
    if any(snapshot.glob("*.safetensors")) or any(snapshot.glob("*.bin")):
        return snapshot
    return None

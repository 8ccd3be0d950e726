"""The artifact store's listing of a folder key (how the API finds an experiment's figures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.storage.artifacts import ArtifactStore


@pytest.mark.parametrize("url", ["dir", "file", "memory"])
def test_list_keys_gives_finished_files_under_a_prefix(url: str, tmp_path: Path) -> None:
    root = {"dir": str(tmp_path), "file": f"file://{tmp_path}", "memory": f"memory://{tmp_path}"}
    store = ArtifactStore(root[url])
    store.put("experiments/e1/figures/layers-main-cosine.png", b"a")
    store.put("experiments/e1/figures/primary-main-shift_cosine.png", b"b")
    store.put("experiments/e1/results.json", b"{}")
    store.put("experiments/e10/figures/other.png", b"c")
    store.fs.pipe(f"{store.root}/experiments/e1/figures/.tmp-0123", b"half")  # a write in flight
    assert store.list_keys("experiments/e1/figures") == [
        "experiments/e1/figures/layers-main-cosine.png",
        "experiments/e1/figures/primary-main-shift_cosine.png",
    ]
    assert store.list_keys("experiments/e2/figures") == []
    with pytest.raises(ValueError):
        store.list_keys("experiments/../figures")

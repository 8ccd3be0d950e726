"""Artifact store: a local directory by default, any fsspec URL (s3://, gs://, ...) otherwise.

Keys are built from ids by ``artifact_key`` and never from user text, so a spec cannot
name a path. Writes go to a temporary name and are renamed, so a reader never sees half
a file and a redelivered task simply overwrites the same key.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass

import fsspec

_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def artifact_key(*parts: str) -> str:
    """Join parts into a key; a part outside ``[A-Za-z0-9_.-]``, or with ``..``, is a ValueError."""
    for part in parts:
        if not _KEY_PART.match(part) or ".." in part:
            raise ValueError(f"invalid artifact key part {part!r}")
    return "/".join(parts)


@dataclass
class ArtifactStore:
    """Bytes under keys at ``url`` (a local directory or any fsspec URL), written by rename."""

    url: str

    def __post_init__(self) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.root = self.root.rstrip("/")
        if self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol:
            os.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        artifact_key(*key.split("/"))  # re-validate
        return f"{self.root}/{key}"

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` via a temporary file and a rename."""
        path = self._path(key)
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        with self.fs.open(tmp, "wb") as fh:
            fh.write(data)
        self.fs.mv(tmp, path)

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key`` (FileNotFoundError when there are none)."""
        with self.fs.open(self._path(key), "rb") as fh:
            return fh.read()

    def list_keys(self, prefix: str) -> list[str]:
        """Keys of the finished files under ``prefix`` (a folder key), sorted; none
        when it does not exist. Temporary files of writes in flight are left out."""
        path = self._path(prefix)
        if not self.fs.exists(path):
            return []
        root = self.root + "/"
        found = (self.fs._strip_protocol(p) for p in self.fs.find(path))
        keys = (p[len(root) :] for p in found if p.startswith(root))
        return sorted(k for k in keys if not k.rsplit("/", 1)[-1].startswith(".tmp-"))

    def local_path(self, key: str) -> str | None:
        """Filesystem path when the store is local (for streaming downloads), else None."""
        return self._path(key) if "file" in self.fs.protocol else None

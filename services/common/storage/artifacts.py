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

from services.common.storage.private_files import FILE_MODE, private_dir

MAX_KEY_PART = 128


def key_part_pattern(max_length: int = MAX_KEY_PART) -> str:
    """The characters a key part may have, as a regex of at most ``max_length`` characters
    (the spec's names use it with a shorter length; ``..`` is refused on top of it)."""
    return rf"^[A-Za-z0-9][A-Za-z0-9_.\-]{{0,{max_length - 1}}}$"


_KEY_PART = re.compile(key_part_pattern())


def key_part_problem(part: str) -> str | None:
    """Why ``part`` cannot be one part of an artifact key (None: it can). Names a spec
    gives (experiment, studies) are checked with this at submit, since they become parts
    of figure file names."""
    if not _KEY_PART.match(part):
        return f"must match {key_part_pattern()}"
    if ".." in part:
        return "must not contain '..'"
    return None


def artifact_key(*parts: str) -> str:
    """Join parts into a key; a part outside ``[A-Za-z0-9_.-]``, or with ``..``, is a ValueError."""
    for part in parts:
        if key_part_problem(part) is not None:
            raise ValueError(f"invalid artifact key part {part!r}")
    return "/".join(parts)


@dataclass
class ArtifactStore:
    """Bytes under keys at ``url`` (a local directory or any fsspec URL), written by rename."""

    url: str

    def __post_init__(self) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.root = self.root.rstrip("/")
        self.local = self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol
        if self.local:
            private_dir(self.root)

    def _path(self, key: str) -> str:
        artifact_key(*key.split("/"))  # re-validate
        return f"{self.root}/{key}"

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` via a temporary file and a rename."""
        path = self._path(key)
        parent = path.rsplit("/", 1)[0]
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        if self.local:  # users' data and uploads: 0600 files in 0700 folders
            _private_dirs(self.root, parent)
            with os.fdopen(
                os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb"
            ) as fh:
                fh.write(data)
            os.replace(tmp, path)
            return
        self.fs.makedirs(parent, exist_ok=True)
        with self.fs.open(tmp, "wb") as fh:
            fh.write(data)
        self.fs.mv(tmp, path)

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key`` (FileNotFoundError when there are none)."""
        with self.fs.open(self._path(key), "rb") as fh:
            return fh.read()

    def delete(self, key: str) -> None:
        """Remove one file; a missing one is not an error (a repeated delete)."""
        path = self._path(key)
        if self.fs.exists(path):
            self.fs.rm(path)

    def list_keys(self, prefix: str) -> list[str]:
        """Keys of the finished files under ``prefix`` (a folder key), sorted; none
        when it does not exist. Temporary files of writes in flight are left out."""
        return sorted(self.sizes(prefix))

    def sizes(self, prefix: str) -> dict[str, int]:
        """Key -> size in bytes of every finished file under ``prefix``, in one listing
        (one request on an object store, instead of one per file)."""
        path = self._path(prefix)
        if not self.fs.exists(path):
            return {}
        root = self.root + "/"
        found = self.fs.find(path, detail=True)
        out = {}
        for name, info in found.items():
            full = self.fs._strip_protocol(name)
            key = full[len(root) :] if full.startswith(root) else None
            if key is not None and not key.rsplit("/", 1)[-1].startswith(".tmp-"):
                out[key] = int(info.get("size") or 0)
        return out

    def delete_prefix(self, prefix: str) -> None:
        """Remove a folder key and everything under it; a missing one is not an error."""
        path = self._path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def local_path(self, key: str) -> str | None:
        """Filesystem path when the store is local (for streaming downloads), else None."""
        return self._path(key) if "file" in self.fs.protocol else None


def _private_dirs(root: str, folder: str) -> None:
    """Create ``folder`` and each missing folder between it and ``root`` as 0700."""
    missing = []
    path = folder
    while path != root and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)


def configured_store() -> ArtifactStore:
    """The artifact store at the configured URL (``ARTIFACT_URL``: a local folder or any
    fsspec URL), as the workers' tasks open it."""
    from services.common.runtime.settings import get_settings

    return ArtifactStore(get_settings().artifacts)

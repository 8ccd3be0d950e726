"""Uploads: JSONL validated with the same parser the engine uses, stored by id."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from services.api.datasets import repository as repo
from services.api.datasets import schemas
from services.api.errors import Invalid, NotFound
from services.common import db
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.datasets import DatasetError, parse_jsonl
from services.common.storage.layout import dataset_key

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def to_schema(row: db.Dataset) -> schemas.Dataset:
    """The API view of a dataset row; ``task`` is the name a spec uses for it."""
    return schemas.Dataset(
        id=row.id,
        task=f"upload:{row.id}",
        kind=row.kind,  # type: ignore[arg-type]
        n_rows=row.n_rows,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        created_at=row.created_at,
    )


def create_dataset(
    session: Session, store: ArtifactStore, owner: str, raw: bytes
) -> schemas.Dataset:
    """Validate an upload with the engine's JSONL parser, store the raw bytes and record the row
    (422 on a bad body)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid.at(["body"], f"not UTF-8 ({exc.reason})", "unicode_error") from None
    dataset_id = db.new_id()
    try:
        kind, rows = parse_jsonl(text, name="body")
    except DatasetError as exc:
        raise Invalid.at(["body"], str(exc), "invalid_dataset") from None
    key = dataset_key(dataset_id)
    store.put(key, raw)
    row = db.Dataset(
        id=dataset_id,
        owner=owner,
        kind=kind,
        n_rows=len(rows),
        size_bytes=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        artifact_key=key,
        created_at=db.utcnow(),
    )
    session.add(row)
    session.commit()
    return to_schema(row)


def get_dataset(session: Session, owner: str, dataset_id: str) -> schemas.Dataset:
    """The owner's dataset by id; a malformed id or another owner's dataset is a 404."""
    row = repo.get_for_owner(session, owner, dataset_id) if db.is_id(dataset_id) else None
    if row is None:
        raise NotFound(f"dataset {dataset_id[:64]!r} not found")
    return to_schema(row)

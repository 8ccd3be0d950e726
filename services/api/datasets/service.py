"""Uploads: JSONL validated with the same parser the engine uses, stored by id."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.orm import Session

from services.api.datasets import repository as repo
from services.api.datasets import schemas
from services.api.errors import Conflict, Invalid, NotFound
from services.common import db
from services.common.db.owner_lock import lock_owner
from services.common.runtime.settings import Settings
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.dataset_formats import ColumnMapping, normalize_upload
from services.common.storage.datasets import DatasetError
from services.common.storage.layout import dataset_key

log = logging.getLogger(__name__)

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
    session: Session,
    store: ArtifactStore,
    owner: str,
    raw: bytes,
    settings: Settings,
    upload: schemas.UploadOptions | None = None,
) -> schemas.Dataset:
    """Validate an upload (read and mapped by ``dataset_formats``, checked by the engine's
    rules), store it as JSONL and record the row (422 naming the row and column)."""
    upload = upload or schemas.UploadOptions()
    mapping = ColumnMapping(upload.text_column, upload.label_column, tuple(upload.label_names))
    dataset_id = db.new_id()
    try:
        kind, rows, raw = normalize_upload(raw, fmt=upload.format, mapping=mapping, name="body")
    except DatasetError as exc:
        # the location says "body" already: the message does not repeat it
        raise Invalid.at(["body"], str(exc).removeprefix("body: "), "invalid_dataset") from None
    lock_owner(session, owner)  # the quota check and the insert, atomically
    check_quota(session, owner, len(raw), settings)
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


def list_datasets(session: Session, owner: str) -> schemas.DatasetList:
    """The owner's datasets, newest first."""
    return schemas.DatasetList(data=[to_schema(r) for r in repo.list_for_owner(session, owner)])


def check_quota(session: Session, owner: str, new_bytes: int, settings: Settings) -> None:
    """A key keeps at most ICL_IT_MAX_DATASETS uploads of ICL_IT_MAX_DATASET_BYTES in all."""
    count, size = repo.usage(session, owner)
    if count + 1 > settings.max_datasets:
        raise Conflict(
            f"this API key keeps {count} datasets; at most {settings.max_datasets} "
            "(ICL_IT_MAX_DATASETS): delete one first (DELETE /v1/datasets/{id})"
        )
    if size + new_bytes > settings.max_dataset_bytes:
        raise Conflict(
            f"this API key keeps {size} bytes of datasets; this upload of {new_bytes} "
            f"would pass {settings.max_dataset_bytes} (ICL_IT_MAX_DATASET_BYTES)"
        )


def delete_dataset(session: Session, store: ArtifactStore, owner: str, dataset_id: str) -> None:
    """Remove the row, then the file. Refused (409) while an unfinished experiment of the
    owner reads it; the owner's lock keeps a submit from starting to use it meanwhile."""
    lock_owner(session, owner)
    row = repo.get_for_owner(session, owner, dataset_id) if db.is_id(dataset_id) else None
    if row is None:
        raise NotFound(f"dataset {dataset_id[:64]!r} not found")
    using = repo.active_experiments_using(session, owner, f"upload:{row.id}")
    if using:
        raise Conflict(
            f"dataset {row.id} is used by {len(using)} unfinished experiment(s) "
            f"({', '.join(using[:5])}); cancel them or wait until they finish"
        )
    key = row.artifact_key
    session.delete(row)
    session.commit()
    try:
        store.delete(key)
    except OSError as exc:  # the row is gone; a stray file is only disk space
        log.warning("dataset %s: file %s not removed: %s", dataset_id, key, exc)

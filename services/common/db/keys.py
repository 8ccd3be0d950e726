"""API keys: created, listed and revoked by the operator (``icl-it keys ...``), stored as
SHA-256 hashes, looked up by the API on every request.

The single-machine stack (``make demo``, ``make up``) makes a ``local`` admin key by
itself and writes it to ``$ICL_IT_HOME/api_key`` (mode 0600), where the CLI finds it, so
a new user never has to create one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from services.common.db import ApiKey, is_id, new_id, session_scope, utcnow
from services.common.runtime.settings import Settings, get_settings

PREFIX = "iclit_"
LOCAL_KEY_NAME = "local"


def hash_key(key: str) -> str:
    """The SHA-256 hex of an API key: only the hash is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    """A new random API key (``iclit_`` and 256 bits, URL-safe)."""
    return PREFIX + secrets.token_urlsafe(32)


def create_key(session: Session, name: str, *, admin: bool = False) -> tuple[ApiKey, str]:
    """A new key: the row (caller commits) and the key itself, which is not stored."""
    if not 1 <= len(name) <= 64 or not name.isprintable():
        raise ValueError("a key name is 1..64 printable characters")
    key = generate_key()
    digest = hash_key(key)
    row = ApiKey(
        id=new_id(), name=name, key_hash=digest, owner=digest, admin=admin, created_at=utcnow()
    )
    session.add(row)
    session.flush()
    return row, key


def find_active(session: Session, key: str) -> ApiKey | None:
    """The key's row if it exists and is not revoked, else None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    return row if row is not None and row.revoked_at is None else None


def list_keys(session: Session) -> Sequence[ApiKey]:
    """Every API key row, oldest first."""
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()


def revoke(session: Session, id_or_name: str) -> int:
    """Revoke the key with this id, or every active key with this name; how many."""
    match = ApiKey.name == id_or_name
    if is_id(id_or_name):
        match = or_(match, ApiKey.id == id_or_name)
    result = session.execute(
        update(ApiKey)
        .where(match, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def key_file(settings: Settings | None = None) -> Path:
    """Where the local stack writes its admin key: ``$ICL_IT_HOME/api_key``."""
    return (settings or get_settings()).home / "api_key"


def read_key_file(settings: Settings | None = None) -> str | None:
    """The local admin key, or None when the file is missing or empty."""
    path = key_file(settings)
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def ensure_local_key(settings: Settings | None = None) -> str:
    """The local admin key from ``$ICL_IT_HOME/api_key``, created (and registered) when
    the file is missing or its key is unknown to the database or revoked."""
    settings = settings or get_settings()
    existing = read_key_file(settings)
    with session_scope(settings.db_url) as s:
        if existing and find_active(s, existing) is not None:
            return existing
        _, key = create_key(s, LOCAL_KEY_NAME, admin=True)
        s.commit()
    path = key_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    os.replace(tmp, path)
    return key

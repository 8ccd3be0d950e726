"""State on disk is private to the service's user: directories 0700, files 0600.

The embedded database (``icl_it.db``), the embedded broker (``broker.db``), uploaded
datasets and every local artifact hold users' data and keys' hashes; another account on
the same machine has no business reading them. SQLite gives its ``-wal`` and ``-shm``
files the mode of the database file, so creating that file 0600 first covers them too.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) and make it 0700 when it is ours."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    if out.stat().st_uid == os.geteuid():  # a mounted volume of another owner stays as is
        os.chmod(out, DIR_MODE)
    return out


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty if it does not exist, in a 0700 directory, and make it 0600
    (before SQLite or anything else opens it with the process's umask)."""
    out = Path(path)
    private_dir(out.parent)
    os.close(os.open(out, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    os.chmod(out, FILE_MODE)
    return out

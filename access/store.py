"""Where the access layer keeps its files, and the one way they are written: under an exclusive lock.

Several CLI processes may run at once (two investigators, an admin approving); ``fcntl.flock`` on the
file itself serialises them, so a hash chain or a grant list is never written from a stale read.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from xgate.settings import Settings


def access_dir(settings: Settings) -> Path:
    return settings.access_dir or settings.data_dir / "access"


def audit_dir(settings: Settings) -> Path:
    return settings.audit_dir or settings.data_dir / "audit"


@contextmanager
def locked(path: Path, mode: str = "a+") -> Iterator[IO[Any]]:
    """The file opened (created if missing) and held under an exclusive lock until the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding=None if "b" in mode else "utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def audit_key(settings: Settings) -> bytes:
    """The key of the subject hashes in the audit: ``XGATE_AUDIT_KEY``, else generated once (mode 0600).

    Kept apart from the audit log on purpose: the log alone does not say whom was read (a plain hash of
    an ID number is reversed by trying every plausible ID); with the key, who-read can still answer.
    Losing the key means who-read cannot answer for the records made with it: back it up.
    """
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    file = access_dir(settings) / "audit.key"
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return file.read_bytes().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return file.read_bytes().strip()

"""Where the access layer keeps its files, the one way they are written, and its keys.

Several CLI processes may run at once (two investigators, an admin approving); ``fcntl.flock`` on the
file itself serialises them, so a chain is never extended from a stale read. Every file here is created
owner-only (0600; folders 0700): the audit, the ledger of cases and grants and the key are as sensitive
as the data they describe.

One secret, the access key (``XGATE_ACCESS_KEY``, else generated once into ``<access dir>/access.key``),
is kept apart from the audit folder on purpose; each use gets its own key derived from it (HMAC with a
purpose label), so a key shown for one purpose (a subject hash) says nothing about another (the MAC of
the audit chain, the signature of a grant, a sign-in token).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

from xgate.settings import Settings

Purpose = Literal["subject", "chain", "ledger", "token"]


def access_dir(settings: Settings) -> Path:
    return settings.access_dir or settings.data_dir / "access"


def audit_dir(settings: Settings) -> Path:
    return settings.audit_dir or settings.data_dir / "audit"


def private_dir(path: Path) -> Path:
    """``path`` created owner-only if missing (an existing folder keeps the mode its owner gave it)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (a file of its own, so the files it guards may be renamed)."""
    private_dir(lock.parent)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def open_private(path: Path) -> IO[bytes]:
    """``path`` opened for reading and appending, created 0600 if missing. Binary: a damaged byte must be
    seen as it is, not decoded away."""
    private_dir(path.parent)
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "rb+")


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path``'s content (created 0600 if missing)."""
    private_dir(path.parent)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(data)


def _master(settings: Settings) -> bytes:
    if settings.access_key is not None:
        return settings.access_key.get_secret_value().encode()
    file = private_dir(access_dir(settings)) / "access.key"
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before, maybe by another process a moment ago
        return file.read_bytes().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    return file.read_bytes().strip()


def key(settings: Settings, purpose: Purpose) -> bytes:
    """The key for one purpose, derived from the access key.

    Losing the access key means the audit can no longer be verified nor who-read answered for the
    records made with it: back it up, apart from the audit.
    """
    return hmac.new(_master(settings), f"xgate/{purpose}".encode(), hashlib.sha256).digest()


def mac(settings: Settings, purpose: Purpose, data: bytes) -> str:
    return hmac.new(key(settings, purpose), data, hashlib.sha256).hexdigest()


def last_line(handle: IO[bytes]) -> bytes:
    """The last non-empty line of an open file, read from the end (logs grow for years)."""
    handle.seek(0, os.SEEK_END)
    size, block = handle.tell(), 4096
    while True:
        start = max(0, size - block)
        handle.seek(start)
        tail = handle.read(size - start).rstrip(b"\n")
        if b"\n" in tail or start == 0:
            return tail.rsplit(b"\n", 1)[-1]
        block *= 4

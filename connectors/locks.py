"""Runs of one source take turns: two syncs (or extracts) of the same source at once would read the same
files and rows, and each would take the other's running batch for one a crash left behind.

A lock file per source under the state directory (``fcntl.flock``: released by the OS when a process
dies, so a kill never leaves it held). The second run waits up to ``XGATE_LAKE_WAIT`` seconds, then fails
in one line (:class:`~xgate.errors.Busy`, exit 5). Re-entrant within a process: a sync holds it through
extract, validate and land.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from xgate.errors import Busy
from xgate.settings import Settings

_held: dict[str, int] = {}  # lock file -> how many holders in this process


@contextmanager
def source_lock(settings: Settings, source: str) -> Iterator[None]:
    folder = settings.state_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = str((folder / f"{source}.lock").resolve())
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        waited, pause = 0.0, 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited >= settings.lake_wait:
                    raise Busy(
                        f"another xgate command has been syncing {source} for {settings.lake_wait:g} s or more; try "
                        "again when it ends, or raise XGATE_LAKE_WAIT"
                    ) from None
                time.sleep(pause)
                waited += pause
                pause = min(pause * 2, 1.0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

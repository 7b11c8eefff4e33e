"""Files people name on the command line: theirs to read or write, never xgate's own stores.

A command that reads a list or an export, or writes a report or a result, runs with xgate's rights
(under ``sudo -u <service account>``, more than the caller's). So a path given by a person is refused
when it leads (symbolic links followed) into xgate's own storage — the lake, staging, the audit, the
access folder with its key and ledger, the users file — and, when the caller came through sudo, when the
caller's own account could not read (or write) it. The sandbox's synthetic departments are the one
exception: they are there to be tried.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from access import identity, store
from access.users import Refused, users_path
from xgate.settings import Settings


def _stores(settings: Settings) -> list[Path]:
    """xgate's folders, and the files of its own it keeps elsewhere (the users file, an anchor file)."""
    found = [settings.data_dir, store.access_dir(settings), store.audit_dir(settings), users_path(settings)]
    if settings.audit_anchor and "://" not in settings.audit_anchor:
        found.append(Path(settings.audit_anchor))
    return [p.resolve() for p in found]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _allowed_to(uid: int, info: os.stat_result, bits: tuple[int, int, int]) -> bool:
    owner, group, other = bits
    if info.st_uid == uid:
        return bool(info.st_mode & owner)
    groups = os.getgrouplist(pwd.getpwuid(uid).pw_name, pwd.getpwuid(uid).pw_gid)
    return bool(info.st_mode & (group if info.st_gid in groups else other))


def _real(fd: int) -> Path:
    """Where an open file or folder really is: its path now, read from the descriptor, not the name given."""
    return Path(os.readlink(f"/proc/self/fd/{fd}"))


def _outside_stores(settings: Settings, given: Path, real: Path) -> None:
    sandbox = (settings.data_dir / "sandbox").resolve()
    for folder in _stores(settings):
        if _inside(real, folder) and not _inside(real, sandbox):
            raise Refused(f"{given} is inside xgate's own storage; give a file of your own")


def _vet(settings: Settings, given: Path, real: Path, info: os.stat_result, write: bool) -> None:
    """:class:`Refused` when ``real`` lies in xgate's storage, or, through sudo, is not the caller's to use."""
    _outside_stores(settings, given, real)
    caller = identity.sudo_caller(settings)
    if caller is not None:
        bits = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH) if write else (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
        reach = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
        folders = [f for f in real.parents if f != Path("/")]
        if not _allowed_to(caller, info, bits) or not all(_allowed_to(caller, f.stat(), reach) for f in folders):
            raise Refused(f"{given}: your account may not {'write' if write else 'read'} it")


def checked(settings: Settings, path: Path) -> Path:
    """A private copy of the caller's file ``path`` to read, or :class:`Refused` (:func:`_vet`).

    The file is opened once (no link followed at its last step) and judged by where that open file really
    is; readers then get the copy, so no link swapped in after the check can lead them elsewhere."""
    given = path.expanduser()
    _outside_stores(settings, path, given.resolve())  # first, so that nothing is said of a store's files
    try:
        fd = os.open(given, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise Refused(f"{path}: no such file") from None
    except OSError as exc:
        raise Refused(f"{path}: cannot be opened ({exc.strerror or 'a link is not followed'})") from None
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(fd)
        _vet(settings, path, _real(fd), info, False)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{path}: not a regular file")
        folder = Path(tempfile.mkdtemp(prefix="xgate-given-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        copy = folder / given.name
        with copy.open("wb") as out:
            shutil.copyfileobj(source, out)
    return copy


@contextmanager
def written(settings: Settings, path: Path) -> Iterator[Path]:
    """Write the caller's file ``path``: yields a private path for the writer; on success its bytes go into
    the file opened (and judged) before anything was written, never through a name swapped in since."""
    given = path.expanduser()
    _outside_stores(settings, path, given.resolve())
    try:
        folder_fd = os.open(given.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise Refused(f"{path}: its folder cannot be opened ({exc.strerror})") from None
    try:
        _vet(settings, path, _real(folder_fd) / given.name, os.fstat(folder_fd), True)
        flags, created = os.O_WRONLY | os.O_NOFOLLOW, True
        try:
            try:
                fd = os.open(given.name, flags | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=folder_fd)
            except FileExistsError:
                fd, created = os.open(given.name, flags, dir_fd=folder_fd), False
        except OSError as exc:
            raise Refused(f"{path}: cannot be written ({exc.strerror or 'a link is not followed'})") from None
    finally:
        os.close(folder_fd)
    with os.fdopen(fd, "wb") as target:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:  # a hard link could be another name of a store
            raise Refused(f"{path}: not a plain file of your own")
        if not created:  # a file that was there: judged itself (one this call made is judged by its folder)
            _vet(settings, path, _real(fd), info, True)
        with tempfile.TemporaryDirectory(prefix="xgate-out-") as tmp:
            staged = Path(tmp) / given.name
            yield staged
            os.ftruncate(fd, 0)
            with staged.open("rb") as source:
                shutil.copyfileobj(source, target)

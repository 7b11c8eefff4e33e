"""Files people name on the command line: theirs to read or write, never xgate's own stores.

A command that reads a list or an export, or writes a report or a result, runs with xgate's rights
(under ``sudo -u <service account>``, more than the caller's). So a path given by a person is refused
when it leads (symbolic links followed) into xgate's own storage — the lake, staging, the audit, the
access folder with its key and ledger, the users file — and, when the caller came through sudo, when the
caller's own account could not read (or write) it. The sandbox's synthetic departments are the one
exception: they are there to be tried. Every refusal here is an audit record, whichever command asked:
probing for xgate's own files, or for files the caller may not use, leaves a trace like a refused read.
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

from access import audit, identity, store
from access.users import Refused, users_path
from xgate.errors import XgateError
from xgate.settings import Settings


def _stores(settings: Settings) -> list[Path]:
    """xgate's folders, and the files of its own it keeps elsewhere (the users file, an anchor file)."""
    found = [settings.data_dir, store.access_dir(settings), store.audit_dir(settings), users_path(settings)]
    if settings.audit_anchor and "://" not in settings.audit_anchor:
        found.append(Path(settings.audit_anchor))
    return [p.resolve() for p in found]


def _refused(settings: Settings, given: Path, why: str, write: bool) -> Refused:
    """The refusal of a path a person gave, recorded first: by the proven user if there is one, else by the
    OS account (sudo's caller through sudo); path and reason as scrubbed text (:func:`access.audit.scrub`)."""
    try:
        who = identity.current(settings)
        user, role = who.name, who.role
    except XgateError:  # no proven user (or no users file): the account that asked still counts
        user, role = f"os:{identity.os_account(settings)}", None
    text = f"{'write' if write else 'read'} file {given}"
    entry = {"user": user, "role": role, "case": None, "purpose": None, "command": "file", "outcome": "refused"}
    audit.append(settings, entry | {"query": audit.scrub(settings, text), "reason": audit.scrub(settings, why)})
    return Refused(why)


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


def _outside_stores(settings: Settings, given: Path, real: Path, write: bool) -> None:
    sandbox = (settings.data_dir / "sandbox").resolve()
    for folder in _stores(settings):
        if _inside(real, folder) and not _inside(real, sandbox):
            raise _refused(settings, given, f"{given} is inside xgate's own storage; give a file of your own", write)


def _vet(settings: Settings, given: Path, real: Path, info: os.stat_result, write: bool) -> None:
    """:class:`Refused` when ``real`` lies in xgate's storage, or, through sudo, is not the caller's to use."""
    _outside_stores(settings, given, real, write)
    caller = identity.sudo_caller(settings)
    if caller is not None:
        bits = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH) if write else (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
        reach = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
        folders = [f for f in real.parents if f != Path("/")]
        if not _allowed_to(caller, info, bits) or not all(_allowed_to(caller, f.stat(), reach) for f in folders):
            raise _refused(settings, given, f"{given}: your account may not {'write' if write else 'read'} it", write)


def checked(settings: Settings, path: Path) -> Path:
    """A private copy of the caller's file ``path`` to read, or :class:`Refused` (:func:`_vet`).

    The file is opened once (no link followed at its last step) and judged by where that open file really
    is; readers then get the copy, so no link swapped in after the check can lead them elsewhere."""
    given = path.expanduser()
    _outside_stores(settings, path, given.resolve(), False)  # first, so that nothing is said of a store's files
    try:
        fd = os.open(given, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise _refused(settings, path, f"{path}: no such file", False) from None
    except OSError as exc:
        why = f"{path}: cannot be opened ({exc.strerror or 'a link is not followed'})"
        raise _refused(settings, path, why, False) from None
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(fd)
        _vet(settings, path, _real(fd), info, False)
        if not stat.S_ISREG(info.st_mode):
            raise _refused(settings, path, f"{path}: not a regular file", False)
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
    _outside_stores(settings, path, given.resolve(), True)
    try:
        folder_fd = os.open(given.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise _refused(settings, path, f"{path}: its folder cannot be opened ({exc.strerror})", True) from None
    try:
        _vet(settings, path, _real(folder_fd) / given.name, os.fstat(folder_fd), True)
        flags, created = os.O_WRONLY | os.O_NOFOLLOW, True
        try:
            try:
                fd = os.open(given.name, flags | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=folder_fd)
            except FileExistsError:
                fd, created = os.open(given.name, flags, dir_fd=folder_fd), False
        except OSError as exc:
            why = f"{path}: cannot be written ({exc.strerror or 'a link is not followed'})"
            raise _refused(settings, path, why, True) from None
    finally:
        os.close(folder_fd)
    with os.fdopen(fd, "wb") as target:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:  # a hard link could be another name of a store
            raise _refused(settings, path, f"{path}: not a plain file of your own", True)
        if not created:  # a file that was there: judged itself (one this call made is judged by its folder)
            _vet(settings, path, _real(fd), info, True)
        with tempfile.TemporaryDirectory(prefix="xgate-out-") as tmp:
            staged = Path(tmp) / given.name
            yield staged
            os.ftruncate(fd, 0)
            with staged.open("rb") as source:
                shutil.copyfileobj(source, target)

"""Files people name on the command line: theirs to read or write, never xgate's own stores.

A command that reads a list or an export, or writes a report or a result, runs with xgate's rights
(under ``sudo -u <service account>``, more than the caller's). So a path given by a person is refused
when it leads (symbolic links followed) into xgate's own storage — the lake, staging, the audit, the
access folder with its key and ledger, the users file — and, when the caller came through sudo, when the
caller's own account could not read (or write) it. The sandbox's synthetic departments are the one
exception: they are there to be tried.
"""

from __future__ import annotations

import os
import pwd
import stat
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


def checked(settings: Settings, path: Path, write: bool = False) -> Path:
    """``path`` resolved, or :class:`Refused`: inside xgate's storage, or not the sudo caller's to use."""
    real = path.expanduser().resolve()
    sandbox = (settings.data_dir / "sandbox").resolve()
    for folder in _stores(settings):
        if _inside(real, folder) and not _inside(real, sandbox):
            raise Refused(f"{path} is inside xgate's own storage; give a file of your own")
    caller = identity.sudo_caller(settings)
    if caller is not None:
        target = real if real.exists() else real.parent
        bits = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH) if write else (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
        if not _allowed_to(caller, target.stat(), bits):
            raise Refused(f"{path}: your account may not {'write' if write else 'read'} it")
    return real

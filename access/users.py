"""The users file and what each role may do.

Users come from a YAML file (``XGATE_USERS_FILE``, default ``<access dir>/users.yaml``; ``xgate users
init`` writes one). Each entry names a user, a role, and how the user proves who they are: the
operating-system account they run the CLI under (``os_account``) and/or a password hash for
``xgate login`` and the web sign-in (``password_hash``, argon2id: ``xgate users hash``). Entries are
checked one by one: an unknown role, a duplicated name or account refuses those entries with the file
and line, and every other user goes on working. What a role may do is fixed here, in code, not in the
file: a configuration mistake can add a user, never a new power.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from access import store
from xgate.errors import ConfigError
from xgate.settings import Settings

Role = Literal["engineer", "investigator", "auditor", "admin"]
# running the gateway itself: through sudo, the service account's power is lent only for these, to engineers
OPERATIONS = frozenset(
    {"sources", "extract", "validate", "report", "sync", "tables", "snapshots", "discrepancies", "maintain", "batches"}
    | {"contracts"}
    | {"link", "sandbox", "doctor"}
)
CASE_WORK = frozenset({"case open", "case add-member", "case add-subject", "case list", "case show"})

# role -> the actions it may take (Trino-style: one allow list per role, everything else denied)
PERMISSIONS: dict[str, frozenset[str]] = {
    "investigator": frozenset(
        {"person", "address", "phone", "query", "link file", "link files", "grant request", "grant list"}
        | {"search", "record", "discrepancy"}
    )
    | CASE_WORK,
    "engineer": frozenset({"sql", "quarantine", "link files", "batches release", "batches replay"}) | OPERATIONS,
    "auditor": frozenset(
        {"audit verify", "audit who-read", "audit show", "audit rotate", "grant list", "case list", "case show"}
        | {"report", "quarantine"}
    ),
    "admin": frozenset(
        {
            "grant approve",
            "grant deny",
            "grant list",
            "case approve-subject",
            "case list",
            "case show",
            "case add-member",
        }
    ),
}


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    role: Role
    os_account: str | None = None
    password_hash: str | None = None

    @field_validator("name", "os_account")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value != value.strip() or len(value) > 64):
            raise ValueError("must be a plain name")
        return value


class Refused(ConfigError):
    """A call refused by the access layer: exit 2 with the reason, and an audit record."""


@dataclass(frozen=True)
class Directory:
    users: dict[str, User]
    problems: dict[str, str]  # user name (or "line N") -> why that entry is refused, with file and line

    def by_account(self, account: str) -> User | None:
        return next((u for u in self.users.values() if u.os_account == account), None)


def users_path(settings: Settings) -> Path:
    return settings.users_file or store.access_dir(settings) / "users.yaml"


@cache
def _load(path: Path, mtime: float) -> Directory:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"users file {path} cannot be read: {str(exc).splitlines()[0]}") from None
    entries = root.value if isinstance(root, yaml.MappingNode) else []
    items = next((v for k, v in entries if k.value == "users"), None)
    if not isinstance(items, yaml.SequenceNode):
        raise ConfigError(f"users file {path}: expected 'users:' with a list of entries")
    found: dict[str, list[tuple[int, User]]] = {}
    problems: dict[str, str] = {}
    for node in items.value:
        line = node.start_mark.line + 1
        keys = [k.value for k, _ in node.value] if isinstance(node, yaml.MappingNode) else []
        raw = yaml.safe_load(yaml.serialize(node))
        if len(keys) != len(set(keys)):  # YAML keeps the last of two; a role given twice is a mistake, not a choice
            twice = next(k for k in keys if keys.count(k) > 1)
            named = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else None
            problems[named or f"line {line}"] = f"{path}:{line}: {twice!r} is given twice in one entry"
            continue
        try:
            user = User.model_validate(raw)
        except ValidationError as exc:
            reason = exc.errors(include_input=False)[0]
            where = ".".join(map(str, reason["loc"])) or "entry"
            named = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else None
            problems[named or f"line {line}"] = f"{path}:{line}: {where}: {reason['msg']}"
            continue
        found.setdefault(user.name, []).append((line, user))
    accounts: dict[str, list[int]] = {}
    for entries_of in found.values():
        for line, user in entries_of:
            if user.os_account:
                accounts.setdefault(user.os_account, []).append(line)
    good = {}
    for name, entries_of in found.items():
        lines = [line for line, _ in entries_of]
        user = entries_of[0][1]
        if len(entries_of) > 1:
            problems[name] = f"{path}:{lines[1]}: user {name!r} is defined more than once (lines {lines})"
        elif user.os_account and len(accounts[user.os_account]) > 1:
            problems[name] = f"{path}:{lines[0]}: OS account {user.os_account!r} is mapped to more than one user"
        else:
            good[name] = user
    return Directory(good, problems)


def directory(settings: Settings) -> Directory:
    """Every configured user (re-read when the file changes)."""
    path = users_path(settings)
    if not path.exists():
        raise ConfigError(f"users file {path} does not exist: run 'xgate users init' or set XGATE_USERS_FILE")
    return _load(path, path.stat().st_mtime)


def find(settings: Settings, name: str) -> User:
    """The user called ``name``, or :class:`Refused` saying why not (unknown, or a broken entry)."""
    found = directory(settings)
    if name in found.problems:
        raise Refused(f"user {name!r} is refused: {found.problems[name]}")
    if name not in found.users:
        raise Refused(f"unknown user {name!r}")
    return found.users[name]


def authorise(user: User, action: str) -> None:
    """Refuse an action the user's role does not allow."""
    if action not in PERMISSIONS[user.role]:
        raise Refused(f"role {user.role} may not {action}")

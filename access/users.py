"""Who is calling and what their role lets them do.

Users and their roles come from a YAML file (``XGATE_USERS_FILE``; the demo ships ``access/users.yaml``
with one user per role). The user is named on every call (``--user`` or ``XGATE_USER``) so that an
identity provider can take over the naming later without touching the rest. What a role may do is
fixed here, in code, not in the file: a configuration mistake can add a user, never a new power.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ValidationError

from xgate.errors import ConfigError
from xgate.settings import Settings

Role = Literal["engineer", "investigator", "auditor", "admin"]
DEMO_USERS = Path(__file__).with_name("users.yaml")

# role -> the actions it may take (Trino-style: one allow list per role, everything else denied)
PERMISSIONS: dict[str, frozenset[str]] = {
    "investigator": frozenset({"person", "address", "phone", "query", "grant request", "grant list"}),
    "engineer": frozenset({"sql"}),
    "auditor": frozenset({"audit verify", "audit who-read", "audit show", "grant list"}),
    "admin": frozenset({"grant approve", "grant list"}),
}
READS = ("person", "address", "phone", "query", "sql")  # authorised by the reader, inside their audit record


class User(BaseModel):
    name: str
    role: Role


class Users(BaseModel):
    users: list[User]


class Refused(ConfigError):
    """A call refused by the access layer: exit 2 with the reason, and an audit record."""


@cache
def _load(path: Path, mtime: float) -> dict[str, User]:
    try:
        parsed = Users.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"users file {path} cannot be read: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise ConfigError(f"users file {path}: {problems}") from None
    return {user.name: user for user in parsed.users}


def users(settings: Settings) -> dict[str, User]:
    """Every configured user by name (re-read when the file changes)."""
    path = settings.users_file or DEMO_USERS
    if not path.exists():
        raise ConfigError(f"users file {path} does not exist (XGATE_USERS_FILE)")
    return _load(path, path.stat().st_mtime)


def resolve(settings: Settings, name: str | None) -> User:
    """The calling user: ``--user`` if given, else ``XGATE_USER``; refused when unnamed or unknown."""
    name = name or settings.user
    if not name:
        raise Refused("name the user with --user or XGATE_USER")
    user = users(settings).get(name)
    if user is None:
        raise Refused(f"unknown user {name!r}")
    return user


def authorise(user: User, action: str) -> None:
    """Refuse an action the user's role does not allow."""
    if action not in PERMISSIONS[user.role]:
        raise Refused(f"role {user.role} may not {action}")

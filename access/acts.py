"""Acts other than reads (sign-in, case and grant changes, audit look-ups), recorded in the read audit.

The CLI and the web call these same functions, so an act leaves the same record whichever way it came:
the caller is proven first (a token, the OS account, a web session), then the act is allowed by role or
refused, and either way it is one audit record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from access import audit, identity, users
from access.users import Refused, User
from xgate.settings import Settings


def _entry(who: User, action: str, text: str, case: str | None) -> dict:
    entry = {"user": who.name, "role": who.role, "case": case, "purpose": None, "command": action, "query": text}
    return entry | {"subjects": re.findall(r"<id:([0-9a-f]+)>", text)}  # a person named by the act (a subject added)


@contextmanager
def authorised(settings: Settings, who: User, action: str, text: str, case: str | None = None) -> Iterator[User]:
    """``who``, allowed ``action``: a refusal, by role or raised inside, is one audit record; an act that is
    allowed records itself (its outcome says more than "allowed", as ``audit verify``'s verdict does)."""
    try:
        users.authorise(who, action)
        yield who
    except Refused as exc:
        audit.append(settings, _entry(who, action, text, case) | {"outcome": "refused", "reason": str(exc)})
        raise


@contextmanager
def acting(settings: Settings, who: User, action: str, text: str, case: str | None = None) -> Iterator[User]:
    """``who``, allowed ``action``; the outcome, refused or done, is one audit record."""
    with authorised(settings, who, action, text, case):
        yield who
    audit.append(settings, _entry(who, action, text, case) | {"outcome": "allowed"})


def subject_text(settings: Settings, id_number: str) -> str:
    """A person as an act's recorded text names them: their keyed hash, found again by who-read."""
    return f"<id:{audit.subject_hash(settings, id_number)}>"


def sign_in(
    settings: Settings,
    name: str,
    password: str,
    via: str = "login",
    warn: Callable[[str], None] | None = None,
    origin: str = "local",
) -> User:
    """The user after their password (:func:`access.identity.sign_in`: lockout included), the attempt recorded
    either way (the name as :func:`access.identity.typed_name` keeps it). A damaged log still lets an auditor
    sign in to repair it: then ``warn`` is told instead."""
    entry = {"user": identity.typed_name(settings, name), "role": None, "case": None, "purpose": None}
    entry |= {"command": "login", "query": via}

    def record(outcome: dict) -> None:
        try:
            audit.append(settings, entry | outcome)
        except audit.AuditDamaged as exc:
            if warn is not None:
                warn(str(exc))

    try:
        user = identity.sign_in(settings, name, password, origin)
    except Refused as exc:
        record({"outcome": "refused", "reason": str(exc)})
        raise
    record({"role": user.role, "outcome": "allowed"})
    return user

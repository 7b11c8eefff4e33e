"""Cases and conditional sharing: who works a case, whose data it sees in full, which grants it holds.

国发〔2016〕51号 conditional sharing needs an approved request; PIPL Art. 28 makes health data sensitive.
A case is opened by an investigator, who adds colleagues; only its members read under its number. A
**subject** added to a case (an audited act; with ``XGATE_SUBJECT_APPROVAL`` only once an admin
approves) is shown in full to the case's members. A **grant** is one investigator's, for one case and
one dataset's sensitive fields, approved by a different person with the admin role for at most
:data:`MAX_DAYS`. Every change is a signed ledger event (:mod:`access.ledger`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from stdnum.cn import ric

from access import ledger, probes, users
from access.users import Refused, User
from xgate.settings import Settings

MAX_DAYS = 90
CASE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
CASE_DIGITS = 9  # digits a case number may hold in all: fewer than a phone (11) or an ID (15, 18), however written


def case_number(number: str) -> str:
    """``number`` if it may be a case number, else :class:`Refused` (without repeating it). A case number is
    kept and shown in clear (ledger, case list, every web page, export stamps), so it holds at most
    :data:`CASE_DIGITS` digits in all: no personal number fits in it, whatever separates its digits."""
    if not CASE_NUMBER.fullmatch(number):
        raise Refused("a case number is 1 to 40 letters, digits and . _ / - (starting with a letter or digit)")
    if sum(c.isdigit() for c in number) > CASE_DIGITS:
        raise Refused(f"a case number holds at most {CASE_DIGITS} digits in all (it is shown in clear, so no ID or "
                      "phone number may fit in it): e.g. 2026-031")  # fmt: skip
    return number


def _case(state: ledger.State, user: User, number: str, member: bool = True) -> ledger.Case:
    case = state.cases.get(number)
    if case is None:
        raise Refused(f"case {case_number(number)!r} is not open")
    if member and user.name not in case.members and user.role != "admin":
        raise Refused(f"{user.name} is not on case {number}")
    return case


def open_case(settings: Settings, user: User, number: str, title: str) -> dict:
    case_number(number)
    if not title.strip():
        raise Refused("a case needs a --title")

    def new(state: ledger.State) -> None:
        if number in state.cases:
            raise Refused(f"case {number} is already open")

    return ledger.record(
        settings, {"event": "case opened", "case": number, "title": title.strip(), "by": user.name}, new
    )


def add_member(settings: Settings, user: User, number: str, member: str) -> dict:
    if users.find(settings, member).role != "investigator":
        raise Refused(f"{member} is not an investigator")
    event = {"event": "member added", "case": number, "user": member, "by": user.name}
    return ledger.record(settings, event, lambda state: _case(state, user, number))


def normal_id(id_number: str) -> str:
    """The ID as the lake holds it (a full-width or 15-digit legacy form becomes its 18-digit twin)."""
    value = probes.normalised(id_number)
    if not ric.is_valid(value):
        raise Refused("not a valid resident ID number (18 characters with its check character, or 15 digits)")
    return value


def add_subject(settings: Settings, user: User, number: str, id_number: str, reason: str) -> dict:
    if not reason.strip():
        raise Refused("adding a subject needs a --reason")
    value = normal_id(id_number)
    event = {"event": "subject added", "case": number, "id_number": value, "reason": reason.strip()}

    def allowed(state: ledger.State) -> None:
        _case(state, user, number)
        probes.tried(settings, user.name, [value])  # a subject shown in full answers "is this number a person?"

    return ledger.record(settings, event | {"by": user.name}, allowed)


def approve_subject(settings: Settings, user: User, number: str, id_number: str) -> dict:
    value = normal_id(id_number)

    def pending(state: ledger.State) -> None:
        subject = _case(state, user, number, member=False).subjects.get(value)
        if subject is None:
            raise Refused(f"that person is not a subject of case {number}")
        if subject.added_by == user.name:
            raise Refused("a subject is approved by someone other than who added it")
        if subject.approved_by:
            raise Refused(f"already approved by {subject.approved_by}")

    event = {"event": "subject approved", "case": number, "id_number": value, "by": user.name}
    return ledger.record(settings, event, pending)


def request(settings: Settings, user: User, number: str, dataset: str, reason: str) -> dict:
    from access.policy import fields

    if dataset not in {d for d, _ in fields()}:
        raise Refused(f"no contract dataset {dataset!r}")
    event = {"event": "grant requested", "case": number, "dataset": dataset, "reason": reason}
    return ledger.record(settings, event | {"by": user.name}, lambda state: _case(state, user, number))


def _undecided(user: User, grant_id: str):
    def check(state: ledger.State) -> None:
        grant = state.grants.get(grant_id)
        if grant is None:
            raise Refused(f"no grant request {grant_id!r}")
        if grant.requested_by == user.name:
            raise Refused("a grant is decided by someone other than who asked for it")
        if grant.approved_by or grant.denied_by:
            raise Refused(f"grant {grant_id} was already decided by {grant.approved_by or grant.denied_by}")

    return check


def approve(settings: Settings, user: User, grant_id: str, days: int) -> ledger.Grant:
    if not 0 < days <= MAX_DAYS:
        raise Refused(f"a grant lasts 1 to {MAX_DAYS} days, not {days}")
    event = {"event": "grant approved", "grant": grant_id, "days": days, "by": user.name}
    ledger.record(settings, event, _undecided(user, grant_id))
    return ledger.state(settings).grants[grant_id]


def deny(settings: Settings, user: User, grant_id: str, reason: str) -> ledger.Grant:
    event = {"event": "grant denied", "grant": grant_id, "reason": reason, "by": user.name}
    ledger.record(settings, event, _undecided(user, grant_id))
    return ledger.state(settings).grants[grant_id]


def listed(settings: Settings, user: User) -> list[tuple[ledger.Grant, str]]:
    """Grants the user may see (investigators: their own cases'), with their state now."""
    state, now = ledger.state(settings), datetime.now(UTC)
    mine = {n for n, c in state.cases.items() if user.name in c.members} if user.role == "investigator" else None
    return [(g, g.state(now)) for g in state.grants.values() if mine is None or g.case in mine]

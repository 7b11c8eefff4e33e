"""Cases, their members and subjects, and grants: signed events, so a hand-written one is worth nothing.

Every change (a case opened, a member or subject added, a grant requested, approved or denied) is one
line of ``<access dir>/ledger.jsonl``, MACed with the ledger key and chained like the audit, and the
command that made it is also recorded in the read audit. The state a read relies on (who is on a
case, whose data the case may see in full, which grants hold) is folded from the lines that verify;
a line written around xgate does not verify and counts for nothing. Nothing is ever removed: an
expired grant stays, as the record of what was allowed.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from access import audit, store
from xgate.settings import Settings


@dataclass
class Grant:
    id: str
    case: str
    dataset: str
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    expires_at: datetime | None = None
    denied_by: str | None = None

    def valid(self, now: datetime) -> bool:
        return (
            self.approved_at is not None and self.expires_at is not None and self.approved_at <= now < self.expires_at
        )

    def state(self, now: datetime) -> str:
        if self.denied_by:
            return "denied"
        return "pending" if self.approved_at is None else "valid" if self.valid(now) else "expired"


@dataclass
class Subject:
    id_number: str
    added_by: str
    reason: str
    approved_by: str | None = None  # set when approval is required and given

    def shown(self, approval_required: bool) -> bool:
        return self.approved_by is not None or not approval_required


@dataclass
class Case:
    number: str
    title: str
    opened_by: str
    opened_at: datetime
    members: set[str] = field(default_factory=set)
    subjects: dict[str, Subject] = field(default_factory=dict)


@dataclass
class State:
    cases: dict[str, Case] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)  # lines that do not verify: written around xgate

    def subjects(self, case: str | None, approval_required: bool) -> frozenset[str]:
        found = self.cases.get(case or "")
        return (
            frozenset(s.id_number for s in found.subjects.values() if s.shown(approval_required))
            if found
            else frozenset()
        )

    def granted(self, user: str, case: str | None, now: datetime | None = None) -> frozenset[str]:
        """Datasets whose sensitive fields this user may see in this case now: a grant is one person's, for one case."""
        now = now or datetime.now(UTC)
        return frozenset(
            g.dataset for g in self.grants.values() if g.case == case and g.requested_by == user and g.valid(now)
        )


REQUESTED = b'"event":"grant requested"'


def path(settings: Settings) -> Path:
    return store.access_dir(settings) / "ledger.jsonl"


def _lines(settings: Settings) -> list[bytes]:
    file = path(settings)
    return file.read_bytes().splitlines() if file.exists() else []


def _mac(settings: Settings, event: dict) -> str:
    return store.mac(settings, "ledger", audit.canonical({k: v for k, v in event.items() if k != "mac"}))


def _intact(settings: Settings, line: bytes) -> dict | None:
    try:
        event = json.loads(line)
        if isinstance(event, dict) and hmac.compare_digest(str(event.get("mac")), _mac(settings, event)):
            return event
    except (ValueError, TypeError, RecursionError):
        pass
    return None


def record(settings: Settings, event: dict) -> dict:
    """Append one signed event (under the ledger's lock) and return it."""
    file = path(settings)
    with store.exclusive(file.with_suffix(".lock")), store.open_private(file) as handle:
        last = _intact(settings, store.last_line(handle)) or {"seq": 0, "mac": audit.GENESIS}
        event = {**event, "seq": last["seq"] + 1, "at": datetime.now(UTC).isoformat(), "prev_mac": last["mac"]}
        if event["event"] == "grant requested":  # numbered under the lock: two requests never share an id
            handle.seek(0)
            requested = sum(1 for line in handle if REQUESTED in line)
            event["grant"] = f"G{requested + 1}"
        event["mac"] = _mac(settings, event)
        handle.seek(0, os.SEEK_END)
        handle.write(audit.canonical(event) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return event


def state(settings: Settings) -> State:
    """The cases and grants as the verified events say."""
    out = State()
    for number, line in enumerate(_lines(settings), 1):
        event = _intact(settings, line)
        if event is None:
            out.ignored.append(number)
            continue
        _apply(out, event)
    return out


def _apply(out: State, e: dict) -> None:
    at = datetime.fromisoformat(e["at"])
    kind, case = e["event"], out.cases.get(e.get("case", ""))
    if kind == "case opened":
        out.cases[e["case"]] = Case(e["case"], e["title"], e["by"], at, {e["by"]})
    elif kind == "member added" and case:
        case.members.add(e["user"])
    elif kind == "subject added" and case:
        case.subjects.setdefault(e["id_number"], Subject(e["id_number"], e["by"], e["reason"]))
    elif kind == "subject approved" and case and e["id_number"] in case.subjects:
        case.subjects[e["id_number"]].approved_by = e["by"]
    elif kind == "grant requested":
        out.grants[e["grant"]] = Grant(e["grant"], e["case"], e["dataset"], e["reason"], e["by"], at)
    elif kind == "grant approved" and e["grant"] in out.grants:
        grant = out.grants[e["grant"]]
        grant.approved_by, grant.approved_at = e["by"], at
        grant.expires_at = at + timedelta(days=e["days"])
    elif kind == "grant denied" and e["grant"] in out.grants:
        out.grants[e["grant"]].denied_by = e["by"]


def verify(settings: Settings) -> tuple[int, str | None]:
    """(events, problem): the first line that does not verify or does not chain, if any."""
    previous = audit.GENESIS
    lines = _lines(settings)
    for number, line in enumerate(lines, 1):
        event = _intact(settings, line)
        if event is None:
            return number - 1, f"ledger line {number} does not verify (written or edited around xgate)"
        if event["prev_mac"] != previous or event["seq"] != number:
            return number - 1, f"ledger line {number} does not chain to the one before (deleted or moved)"
        previous = event["mac"]
    return len(lines), None

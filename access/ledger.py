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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from access import audit, store
from access.anchor import Head, anchor
from xgate.errors import FatalError
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
    ignored: list[int] = field(default_factory=list)  # lines after the anchored head: written around xgate
    seq: int = 0  # the last event that counts, and its MAC (what the next event chains to)
    mac: str = ""

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


def path(settings: Settings) -> Path:
    return store.access_dir(settings) / "ledger.jsonl"


def _mac(settings: Settings, event: dict) -> str:
    return store.mac(settings, "ledger", audit.canonical({k: v for k, v in event.items() if k != "mac"}))


def _intact(settings: Settings, line: bytes) -> dict | None:
    """The event on ``line`` if it is exactly as xgate writes it (canonical JSON, its MAC right)."""
    try:
        event = json.loads(line)
        if (
            isinstance(event, dict)
            and audit.canonical(event) == line
            and hmac.compare_digest(str(event.get("mac")), _mac(settings, event))
        ):
            return event
    except (ValueError, TypeError, RecursionError):
        pass
    return None


class LedgerDamaged(FatalError):
    """The ledger's chain does not reach its anchored head: no case or grant can be trusted, so no read runs."""


def _fold(settings: Settings, lines: list[bytes]) -> State:
    """The state of the chain from the first event to the anchored head. Events written around xgate after
    the head count for nothing (``ignored``); anything that breaks the chain before it — an edit, a
    deletion, a reorder, a replay, a cut tail — fails closed."""
    out, previous, head = State(), audit.GENESIS, anchor(settings, "ledger").last()
    for number, line in enumerate(lines, 1):
        event = _intact(settings, line)
        if event is None or event["seq"] != number or event["prev_mac"] != previous:
            if head is not None and number <= head.seq:
                raise LedgerDamaged(f"the case and grant ledger breaks at line {number}: {_ADVICE}")
            out.ignored = list(range(number, len(lines) + 1))
            break
        _apply(out, event)
        previous = event["mac"]
        if head is not None and number == head.seq:
            if event["mac"] != head.mac:
                raise LedgerDamaged(f"the ledger's event {number} is not the one its anchor names: {_ADVICE}")
            out.ignored = list(range(number + 1, len(lines) + 1))
            break
    out.seq, out.mac = len(lines) - len(out.ignored), previous
    if head is not None and out.seq < head.seq:
        raise LedgerDamaged(f"the ledger ends before event {head.seq}, its anchored head: {_ADVICE}")
    return out


_ADVICE = "reads are refused until an auditor restores it ('xgate audit verify' names the line)"


def state(settings: Settings) -> State:
    """The cases and grants as the verified, anchored chain of events says."""
    file = path(settings)
    return _fold(settings, file.read_bytes().splitlines() if file.exists() else [])


def record(settings: Settings, event: dict, check: Callable[[State], None] | None = None) -> dict:
    """Append one signed event under the ledger's lock, after ``check`` accepts the state as it is then (so
    two people opening the same case at once cannot both succeed), and anchor it."""
    file = path(settings)
    with store.exclusive(file.with_suffix(".lock")), store.open_private(file) as handle:
        lines = handle.read().splitlines()
        now = _fold(settings, lines)
        if now.ignored:  # lines written around xgate after the head: kept aside as evidence, out of the chain
            kept = file.with_name(f"ledger.rejected-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.jsonl")
            kept.write_bytes(b"\n".join(lines[now.seq :]) + b"\n")
            handle.seek(0)
            handle.truncate()
            handle.write(b"".join(line + b"\n" for line in lines[: now.seq]))
        if check is not None:
            check(now)
        words = {k: audit.scrub(settings, event[k]) for k in ("title", "reason") if isinstance(event.get(k), str)}
        event = {**event, **words, "seq": now.seq + 1, "at": datetime.now(UTC).isoformat(), "prev_mac": now.mac}
        if event["event"] == "grant requested":  # numbered under the lock: two requests never share an id
            event["grant"] = f"G{len(now.grants) + 1}"
        event["mac"] = _mac(settings, event)
        handle.seek(0, os.SEEK_END)
        handle.write(audit.canonical(event) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
        anchor(settings, "ledger").append(Head("ledger", event["seq"], event["mac"]))
    return event


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
    """(events, problem): where the chain breaks before its anchored head, or lines written after it."""
    try:
        folded = state(settings)
    except LedgerDamaged as exc:
        return 0, str(exc)
    if folded.ignored:
        return folded.seq, f"ledger lines {folded.ignored[0]} on were written around xgate (they count for nothing)"
    return folded.seq, None

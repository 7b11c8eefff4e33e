"""``xgate audit verify``: walk the chain and say where it breaks, and how. Never raises on bad bytes.

An *edit* is a record whose MAC no longer matches its content (or that is no longer a record at all,
such as a line cut off half-way); a record edited and re-MACed without the key fails the same way, and
with the key it breaks the next record's ``prev_mac``. A *deletion* is a gap in the sequence that no
later record fills, or a log that ends before its anchor. A *reorder* is a sequence number out of place
whose expected number turns up later. A *replaced* log is one whose records verify but whose end is not
the head the anchor keeps (another log, or an older copy put back).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from access import audit, store
from access.anchor import Head, anchor
from xgate.settings import Settings


@dataclass
class Verdict:
    records: int
    problem: str | None = None  # "edited" / "deleted" / "reordered" / "replaced"
    line: int | None = None
    detail: str = ""
    log: str | None = None
    last_seq: int = 0
    last_mac: str = audit.GENESIS  # the last record that still verifies and chains

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in ("problem", "line", "detail", "last_seq", "last_mac")}


def _seq(line: bytes) -> int | None:
    try:
        return int(json.loads(line)["seq"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def verify(settings: Settings, acknowledge: bool = False) -> Verdict:
    """The verdict on the whole log. With ``acknowledge``, checked under the log's lock and, if intact,
    the file as it is now is anchored, so appends go on after a write around xgate that changed nothing
    (a chmod, a copy back from backup)."""
    if not acknowledge:
        return _verify(settings)
    path = audit.log_path(settings)
    with store.exclusive(path.with_suffix(".lock")):
        verdict = _verify(settings)
        if verdict.ok and verdict.records:
            with path.open("rb") as handle:
                anchor(settings).append(
                    audit.stamp(handle, Head(verdict.log or "", verdict.last_seq, verdict.last_mac))
                )
    return verdict


def _verify(settings: Settings) -> Verdict:
    path = audit.log_path(settings)
    lines = path.read_bytes().splitlines() if path.exists() else []
    verdict = Verdict(0)
    expected, previous = 1, audit.GENESIS
    before = audit.GENESIS
    for number, line in enumerate(lines, 1):
        if not line.strip():  # a blank line carries nothing (appends never write one): skipped, like appends do
            continue
        record = audit.parse(settings, line)
        if record is None:
            return _broken(verdict, "edited", number, f"line {number} is not an intact audit record (edited or cut)")
        seq = record.get("seq")
        if verdict.records == 0:
            verdict.log = record.get("log")
            previous = record.get("prev_mac") if "follows" in record else previous  # a rotated log's first record
        if seq != expected or record.get("log") != verdict.log:
            later = {_seq(rest) for rest in lines[number:]}
            if not isinstance(seq, int) or seq < expected or expected in later or record.get("log") != verdict.log:
                detail = f"record {seq} is at line {number}, where record {expected} belongs"
                return _broken(verdict, "reordered", number, detail)
            missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            return _broken(verdict, "deleted", number, f"record(s) {missing} missing before line {number}")
        if record.get("prev_mac") != previous:
            return _broken(verdict, "edited", number, f"record {seq} (line {number}) does not chain to the one before")
        if "follows" in record and (problem := _kept(path, record["follows"])):
            return _broken(verdict, "replaced", number, problem)
        before, previous, expected = previous, record["mac"], seq + 1
        verdict.records, verdict.last_seq, verdict.last_mac = verdict.records + 1, seq, previous
    return _against_anchor(settings, verdict, len(lines), before if lines else audit.GENESIS)


def _kept(path: Path, follows: dict) -> str | None:
    """A log kept by ``audit rotate`` must still be there as it was (its SHA-256 is in the rotate record);
    and so, in turn, must the one it follows."""
    kept = path.with_name(str(follows.get("file", "")))
    if not kept.is_file() or hashlib.sha256(kept.read_bytes()).hexdigest() != follows.get("sha256"):
        return f"the kept log {kept.name} is gone or changed since it was rotated out"
    first = kept.read_bytes().split(b"\n", 1)[0]
    try:
        older = json.loads(first).get("follows") if first else None
    except (ValueError, AttributeError):
        older = None
    return _kept(path, older) if isinstance(older, dict) else None


def _broken(verdict: Verdict, problem: str, line: int, detail: str) -> Verdict:
    verdict.problem, verdict.line, verdict.detail = problem, line, detail
    return verdict


def _against_anchor(settings: Settings, verdict: Verdict, lines: int, before_last: str) -> Verdict:
    """The log's end against its anchor: the same head, or one record ahead of it (a process that died
    between writing the record and anchoring it)."""
    try:
        anchored = anchor(settings).last()
    except Exception as exc:  # an unreadable anchor is a finding, not a crash
        return _broken(verdict, "replaced", lines, f"the anchor cannot be read: {exc}")
    if anchored is None:
        if lines:
            return _broken(verdict, "replaced", lines, "the log has records but no anchor holds its head")
        return verdict
    if anchored.log != verdict.log:
        return _broken(verdict, "replaced", max(lines, 1), "the log is not the one the anchor names (replaced)")
    head = Head(verdict.log or "", verdict.last_seq, verdict.last_mac)
    if anchored.seq > head.seq:
        detail = f"record(s) {head.seq + 1} to {anchored.seq} missing at the end (the anchor names {anchored.seq})"
        return _broken(verdict, "deleted", lines + 1, detail)
    if anchored.seq == head.seq and anchored.mac != head.mac:
        return _broken(verdict, "replaced", lines, "the last record is not the one the anchor names")
    if anchored.seq == head.seq - 1 and anchored.mac != before_last:
        return _broken(verdict, "replaced", lines - 1, "the record the anchor names is not in the log")
    if anchored.seq < head.seq - 1:
        detail = f"records after {anchored.seq} were never anchored (written around xgate)"
        return _broken(verdict, "replaced", anchored.seq + 1, detail)
    return verdict

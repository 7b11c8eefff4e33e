"""``xgate audit verify``: walk the chain and say where it breaks, and how.

An *edit* is a record whose hash no longer matches its content (or that is no longer JSON); a record
edited and re-hashed breaks the next record's ``prev_hash``. A *deletion* is a gap in the sequence
numbers that no later record fills (or a log shorter than its head file says). A *reorder* is a
sequence number out of place whose expected number turns up later in the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from access.audit import GENESIS, canonical


@dataclass
class Verdict:
    records: int
    problem: str | None = None  # "edited" / "deleted" / "reordered"
    line: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _seq(line: str) -> int | None:
    try:
        return int(json.loads(line)["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def verify(path: Path) -> Verdict:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    previous, expected = GENESIS, 1
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            stored = record.pop("hash")
            seq = int(record["seq"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return Verdict(number - 1, "edited", number, f"line {number} is not an intact audit record")
        if hashlib.sha256(canonical(record)).hexdigest() != stored:
            return Verdict(number - 1, "edited", number, f"record {seq} (line {number}) does not match its hash")
        if seq != expected:
            later = {_seq(rest) for rest in lines[number:]}
            if seq < expected or expected in later:
                detail = f"record {seq} is at line {number}, where record {expected} belongs"
                return Verdict(number - 1, "reordered", number, detail)
            missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            return Verdict(number - 1, "deleted", number, f"record(s) {missing} missing before line {number}")
        if record.get("prev_hash") != previous:
            detail = f"record {seq} (line {number}) does not chain to the record before it (edited and re-hashed)"
            return Verdict(number - 1, "edited", number, detail)
        previous, expected = stored, seq + 1
    head = path.with_name("reads.head")
    if head.exists():
        last = json.loads(head.read_text())
        if last["seq"] >= expected:
            detail = f"record(s) {expected} to {last['seq']} missing at the end (the head says {last['seq']})"
            return Verdict(len(lines), "deleted", len(lines) + 1, detail)
        if last["seq"] == expected - 1 and last["hash"] != previous:
            return Verdict(len(lines), "edited", len(lines), "the last record is not the one the head names")
    return Verdict(len(lines))

"""The read audit: every read, allowed or refused, one hash-chained record, appended and never removed.

Modelled on X-Road's message log: each record holds the previous record's hash and its own SHA-256
over its canonical JSON (sorted keys, no spaces), so changing one byte, deleting a record or swapping
two breaks the chain where it happened, and ``verify`` says where and which. ``reads.head`` (the last
seq and hash, rewritten with every append) catches records cut off the end. Appends hold an exclusive
``flock`` on the log, so concurrent CLI processes chain correctly, and are fsynced before the reader
sees any data.

Retention: there is no code path that deletes or rewrites a record (PIPL Art. 56 asks for 3 years;
this keeps them for ever), and ``xgate maintain`` never touches the audit folder. In production the
folder (``XGATE_AUDIT_DIR``) belongs on WORM / append-only storage (``chattr +a``, object lock), and
the head hash should be copied elsewhere now and then: a chain alone cannot stop someone who may
rewrite the whole file from recomputing it. Persons read are stored as keyed hashes (HMAC-SHA256 of the
ID number, :func:`access.store.audit_key`), never as ID numbers: the audit is itself sensitive.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from access import store
from xgate.settings import Settings

GENESIS = "0" * 64
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def log_path(settings: Settings) -> Path:
    return store.audit_dir(settings) / "reads.jsonl"


def subject_hash(settings: Settings, id_number: str) -> str:
    return hmac.new(store.audit_key(settings), id_number.strip().upper().encode(), hashlib.sha256).hexdigest()[:32]


def redact(settings: Settings, text: str) -> str:
    """The query text as recorded: ID and mobile numbers in it replaced by their keyed hashes, so the log
    keeps what was asked and whom it concerned without holding the numbers themselves."""
    text = ID_NUMBER.sub(lambda m: f"<id:{subject_hash(settings, m.group(0))}>", text)
    return MOBILE.sub(lambda m: f"<phone:{subject_hash(settings, m.group(0))}>", text)


def _last_line(handle) -> bytes:
    handle.seek(0, os.SEEK_END)
    size, block = handle.tell(), 4096
    while True:
        start = max(0, size - block)
        handle.seek(start)
        tail = handle.read(size - start).rstrip(b"\n")
        if b"\n" in tail or start == 0:
            return tail.rsplit(b"\n", 1)[-1]
        block *= 4


def append(settings: Settings, entry: dict) -> dict:
    """Chain ``entry`` onto the log and return the record as stored (with seq, time and hashes)."""
    path = log_path(settings)
    if isinstance(entry.get("query"), str):
        entry = entry | {"query": redact(settings, entry["query"])}
    with store.locked(path, "ab+") as handle:
        last = _last_line(handle)
        previous = json.loads(last) if last else {"seq": 0, "hash": GENESIS}
        record = {
            **entry,
            "seq": previous["seq"] + 1,
            "time": datetime.now(UTC).isoformat(),
            "prev_hash": previous["hash"],
        }
        record["hash"] = hashlib.sha256(canonical(record)).hexdigest()
        handle.seek(0, os.SEEK_END)
        handle.write(canonical(record) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
        head = path.with_name("reads.head")
        head.with_suffix(".tmp").write_text(json.dumps({"seq": record["seq"], "hash": record["hash"]}))
        head.with_suffix(".tmp").replace(head)
    return record


def records(settings: Settings) -> list[dict]:
    path = log_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def who_read(settings: Settings, id_number: str) -> list[dict]:
    """Every read whose result or query named this person (allowed or refused)."""
    wanted = subject_hash(settings, id_number)
    return [r for r in records(settings) if wanted in r.get("subjects", ())]

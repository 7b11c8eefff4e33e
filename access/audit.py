"""The read audit: every read, allowed or refused, chained records appended and never removed.

Modelled on X-Road's message log. Each record holds the previous record's MAC and its own, an
HMAC-SHA256 with a key kept outside the audit folder (:func:`access.store.key`), so an edited record
cannot be re-hashed into the chain by anyone who can write the log but lacks the key. Every append also
leaves the new head in the anchor store (:mod:`access.anchor`), outside the log, so a cut tail or a
replaced log shows. Appends hold an exclusive ``flock`` (concurrent processes chain correctly) and are
fsynced before any data is read.

A read is recorded twice: ``started`` before the query runs (with whom it names), then its outcome
(rows, result hash, persons read) pointing back to it, so a query killed half-way still leaves its
first record. A log whose end does not verify, or does not match its anchor, refuses every append:
reads fail closed until an auditor looks (``xgate audit verify``) and starts a new log
(``xgate audit rotate``), which keeps the damaged one as evidence.

Nothing deletes or rewrites a record (PIPL Art. 56 asks for 3 years; these are kept for ever), and
``xgate maintain`` never touches the audit folder. Persons are stored as keyed hashes of their ID
numbers (the audit is itself sensitive); ID and mobile numbers in recorded query text likewise.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from stdnum.cn import ric

from access import store
from access.anchor import Head, anchor
from xgate.errors import FatalError
from xgate.settings import Settings

GENESIS = "0" * 64
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")


class AuditDamaged(FatalError):
    """The log's end does not verify: no read may go unrecorded, so none runs."""


def canonical(value: object) -> bytes:
    """One byte form per value (what is MACed and written). A byte that was no UTF-8 in a command's arguments
    (a lone surrogate in Python) is written as its JSON escape, which reads back as the same value: a bad
    byte in a purpose is recorded like any text rather than failing the record (and the read with it)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode("utf-8", "backslashreplace")


def log_path(settings: Settings) -> Path:
    return store.audit_dir(settings) / "reads.jsonl"


def subject_key(settings: Settings) -> str:
    return store.key(settings, "subject").hex()


def subject_hash(settings: Settings, id_number: str) -> str:
    """A person as the audit records them: a keyed hash of the ID number (the key is secret and fixed
    length, so this is a MAC); the SQL twin is in :func:`access.masked.select`."""
    normal = unicodedata.normalize("NFKC", id_number).strip().upper()
    return hashlib.sha256((subject_key(settings) + normal).encode()).hexdigest()[:32]


def named_ids(*texts: str) -> set[str]:
    """ID numbers a text names, full-width digits included (NFKC)."""
    return {m.upper() for t in texts for m in ID_NUMBER.findall(unicodedata.normalize("NFKC", t))}


VALUE_LIKE = re.compile(r"'(?:[^']|'')*'")  # a string literal
GAP = 8  # at most this many characters (blanks aside) stand between two digit groups of one written number
PHONE = re.compile(r"(?:0086|86)?(1[3-9][0-9]{9})")  # a mobile number, its country code dropped
LONG_GROUPED = 9  # digits from which any other grouped number is joined (a date such as 2023-04-02 stays)
LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z_:])[0-9]{6,}")
CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff·]+")
TOKEN = re.compile(r"<(?:id|phone|v|n|t):[0-9a-f]+>")


def token(settings: Settings, kind: str, value: str) -> str:
    """A value as the audit keeps it: a short keyed hash, the same for the same value wherever it stands."""
    return f"<{kind}:{subject_hash(settings, value)[:12]}>"


HAN_DIGITS = str.maketrans("〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖", "0012345678912123456789")
# a run of Chinese numerals that may be part of a number (一三九 一二三四, 壹叁玖...): as digits
HAN_NUMBER = re.compile(r"[〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖]{3,}")
DASH_LIKE = frozenset("ー丨一｜―")  # letters by Unicode that people write between digit groups as a dash


def _normal(text: str) -> str:
    """NFKC (full-width digits and colons become ASCII), every decimal digit of any script as 0-9, and a run
    of Chinese numerals long enough to be a phone or ID number as its digits."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text)
    return HAN_NUMBER.sub(lambda m: m.group(0).translate(HAN_DIGITS), text)


def _gap(between: str) -> bool:
    """Whether two digit groups with ``between`` between them may be one number: a run of anything that is
    neither letter nor digit (blanks, dashes, dots, brackets, quotes and ``||``, a soft hyphen or zero-width
    space) with at most :data:`GAP` characters besides blanks, or a dash written with a letter (``ー``)."""
    solid = "".join(c for c in between if not c.isspace() and unicodedata.category(c) != "Cf")  # invisible: none
    return len(solid) <= GAP and len(between) <= 4 * GAP and not any(c.isalpha() and c not in DASH_LIKE for c in solid)


def _chains(text: str) -> list[list[tuple[int, int]]]:
    """The digit groups of ``text`` (start, end), in runs that a person may have written as one number."""
    chains: list[list[tuple[int, int]]] = []
    for found in re.finditer(r"[0-9]+", text):
        if chains and _gap(text[chains[-1][-1][1] : found.start()]):
            chains[-1].append(found.span())
        else:
            chains.append([found.span()])
    return chains


def _personal(digits: str, x_after: bool) -> tuple[str, str, int] | None:
    """What ``digits`` (a check character X right after them if ``x_after``) are, if a personal number:
    (kind, the number as hashed, 1 if the X belongs to it)."""
    if x_after and len(digits) == 17:
        return "id", digits + "X", 1
    if phone := PHONE.fullmatch(digits):
        return "phone", phone.group(1), 0
    return ("id", digits, 0) if len(digits) in (15, 18) else None


def _checks(kind: str, value: str) -> bool:
    """Whether a number found is one for sure: an ID whose check character and birth date hold, a mobile
    number (its prefix): what is taken first when groups could be read more than one way."""
    return kind == "phone" or ric.is_valid(value)


def _spans(settings: Settings, text: str, chain: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """What to put where in one chain of digit groups: a group that is a personal number on its own first,
    then from each group on the longest run of groups that is one (18 digits at most); what is left, in runs
    of :data:`LONG_GROUPED` digits or more, as a long number."""
    groups = [text[a:b] for a, b in chain]

    def personal(i: int, j: int) -> tuple[str, str, int] | None:
        return _personal("".join(groups[i : j + 1]), text[chain[j][1] : chain[j][1] + 1] in ("X", "x"))

    spans: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for wanted in ("id", "phone"):  # numbers that check out first, IDs (their check character) before phones
        for i in range(len(chain)):
            if i in taken:
                continue
            widths = itertools.accumulate(len(groups[k]) for k in range(i, len(chain)))
            last = i + sum(1 for w in widths if w <= 18) - 1
            for j in range(last, i - 1, -1):
                number = None if taken & set(range(i, j + 1)) else personal(i, j)
                if number is None or number[0] != wanted or not _checks(*number[:2]):
                    continue
                kind, value, x = number
                spans.append((chain[i][0], chain[j][1] + x, f"<{kind}:{subject_hash(settings, value)}>"))
                taken |= set(range(i, j + 1))
                break
    alone = [None if i in taken else personal(i, i) for i in range(len(chain))]

    def longest(i: int) -> int | None:
        """The last group of the longest run from group ``i`` on that is one number (up to a number alone)."""
        found, width = None, len(groups[i])
        for j in range(i + 1, len(chain)):
            width += len(groups[j])
            if alone[j] or j in taken or width > 18:
                break
            found = j if personal(i, j) else found
        return found

    i, left = 0, []
    while i < len(chain):
        if i in taken:
            i += 1
            continue
        j = i if alone[i] else longest(i)
        if j is None or (number := personal(i, j)) is None:
            left.append(i)
            i += 1
            continue
        kind, value, x = number
        spans.append((chain[i][0], chain[j][1] + x, f"<{kind}:{subject_hash(settings, value)}>"))
        i = j + 1
    for run in _runs(left):
        if len(run) > 1 and sum(len(groups[k]) for k in run) >= LONG_GROUPED:
            digits = "".join(groups[k] for k in run)
            spans.append((chain[run[0]][0], chain[run[-1]][1], token(settings, "n", digits)))
    return spans


def _runs(indexes: list[int]) -> list[list[int]]:
    """``indexes`` (ascending) cut into runs of consecutive ones."""
    runs: list[list[int]] = []
    for k in indexes:
        if runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _numbers(settings: Settings, text: str) -> str:
    """``text`` (normalised) with every ID and mobile number replaced by its keyed hash (who-read finds it),
    whether written whole or in groups with anything that is no letter or digit between them, and any other
    number of :data:`LONG_GROUPED` digits or more written in groups by a keyed token. By construction rather
    than by a list of separators: the digit groups that short gaps join (:func:`_chains`) are tried as one
    number (:func:`_spans`), so ``139 - 1234 - 5678``, ``[139][1234][5678]`` or a zero-width space between
    groups are one phone number. Over-redacting (a date and time joined) is the price of not leaking."""
    text = _normal(text)
    text = _replaced(text, [s for chain in _chains(text) for s in _ids_within(settings, text, chain)])
    return _replaced(text, [s for chain in _chains(text) for s in _spans(settings, text, chain)])


def _replaced(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end) span put in its place (spans do not overlap)."""
    out, done = [], 0
    for start, end, replacement in sorted(spans):
        out += [text[done:start], replacement]
        done = end
    return "".join(out) + text[done:]


def _ids_within(settings: Settings, text: str, chain: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Every ID whose check character and birth date hold among a chain's digits, wherever it starts: a digit
    stuck before it (``①5104...`` reads ``15104...``), a list number or a case number before its groups."""
    where = [k for a, b in chain for k in range(a, b)]
    digits = "".join(text[k] for k in where)
    spans, at = [], 0
    while at + 17 <= len(digits):
        body = digits[at : at + 17]
        after = where[at + 16] + 1
        if at + 18 <= len(digits) and ric.is_valid(body + digits[at + 17]):
            spans.append((where[at], where[at + 17] + 1, f"<id:{subject_hash(settings, body + digits[at + 17])}>"))
            at += 18
        elif at + 17 == len(digits) and text[after : after + 1] in ("X", "x") and ric.is_valid(body + "X"):
            spans.append((where[at], after + 1, f"<id:{subject_hash(settings, body + 'X')}>"))
            at += 17
        else:
            at += 1
    return spans


def redact(settings: Settings, text: str) -> str:
    """A query text or a reason as recorded: ID and mobile numbers replaced by their keyed hashes (who-read
    finds them), and every other value that could be a person's — a literal with digits or Chinese in it,
    a long number, a run of Chinese characters — by a keyed token, so the log keeps what was asked and
    whom it concerned, never a value itself."""
    text = _numbers(settings, text)

    def literal(found: re.Match) -> str:
        bare = TOKEN.sub("", found.group(0))  # an ID or phone already hashed stays as it is, for who-read
        return token(settings, "v", found.group(0)) if re.search(r"[0-9]{4}|[\u3400-\u9fff]", bare) else found.group(0)

    text = VALUE_LIKE.sub(literal, text)
    text = LONG_NUMBER.sub(lambda m: token(settings, "n", m.group(0)), text)
    return CHINESE.sub(lambda m: token(settings, "t", m.group(0)), text)


def scrub(settings: Settings, text: str) -> str:
    """A purpose, a case's title or a grant's reason as kept: people's words for auditors to read, with ID and
    mobile numbers as keyed hashes (who-read finds them) and any other long number as a keyed token."""
    text = _numbers(settings, text)
    return LONG_NUMBER.sub(lambda m: token(settings, "n", m.group(0)), text)


def record_mac(settings: Settings, record: dict) -> str:
    return store.mac(settings, "chain", canonical({k: v for k, v in record.items() if k != "mac"}))


def parse(settings: Settings, line: bytes) -> dict | None:
    """The record on ``line`` if it is intact: exactly as xgate writes it (canonical JSON: no duplicate key, no
    other spacing) and its MAC right; else None; never raises."""
    try:
        record = json.loads(line)
        if (
            isinstance(record, dict)
            and line == canonical(record)
            and hmac.compare_digest(str(record.get("mac")), record_mac(settings, record))
        ):
            return record
    except (ValueError, TypeError, RecursionError):
        pass
    return None


def stamp(handle, head: Head) -> Head:
    """``head`` with the file's size and inode change time now (after the append, before the lock goes)."""
    info = os.fstat(handle.fileno())
    return Head(head.log, head.seq, head.mac, info.st_size, info.st_ctime_ns)


def _head(settings: Settings, handle) -> Head:
    """The log's verified head, reconciled with its anchor; :class:`AuditDamaged` if they disagree or the
    file was written around xgate since the last append."""
    anchored = anchor(settings).last()
    last = store.last_line(handle)
    if not last:
        if anchored is not None:
            raise AuditDamaged(f"the audit log is empty but its anchor names record {anchored.seq}: {_advice()}")
        return Head(secrets.token_hex(8), 0, GENESIS)
    record = parse(settings, last)
    if record is None:
        raise AuditDamaged(f"the last audit record does not verify (cut off or edited): {_advice()}")
    head = Head(record["log"], int(record["seq"]), record["mac"])
    info = os.fstat(handle.fileno())
    if anchored == head:
        if (info.st_size, info.st_ctime_ns) != (anchored.size, anchored.ctime):
            raise AuditDamaged(f"the audit log was written outside xgate since record {head.seq}: {_advice()}")
        return head
    previous = Head(head.log, head.seq - 1, record["prev_mac"])
    if anchored == previous and info.st_size - len(last) - 1 == anchored.size:
        anchor(settings).append(stamp(handle, head))  # a process died between the log and the anchor
        return head
    seen = f"record {anchored.seq}" if anchored else "nothing"
    raise AuditDamaged(f"the audit log ends at record {head.seq} but its anchor names {seen}: {_advice()}")


def _advice() -> str:
    return (
        "reads are refused until an auditor runs 'xgate audit verify' (and, if it finds damage, 'xgate audit rotate')"
    )


def append(settings: Settings, entry: dict) -> dict:
    """Chain ``entry`` onto the log, anchor it, and return the record as stored."""
    entry = entry | {k: redact(settings, entry[k]) for k in ("query", "reason") if isinstance(entry.get(k), str)}
    # a case number as typed (a valid one has no long number, so it is kept as it is)
    entry = entry | {k: scrub(settings, entry[k]) for k in ("purpose", "case") if isinstance(entry.get(k), str)}
    named = {h for k in ("purpose", "case") for h in re.findall(r"<id:([0-9a-f]+)>", entry.get(k) or "")}
    if named:  # a person named in the words of a read: who-read finds it
        entry["subjects"] = sorted(set(entry.get("subjects") or ()) | named)
    path = log_path(settings)
    with store.exclusive(path.with_suffix(".lock")), store.open_private(path) as handle:
        head = _head(settings, handle)
        record = {**entry, "log": head.log, "seq": head.seq + 1, "time": datetime.now(UTC).isoformat()}
        record["prev_mac"] = head.mac
        record["mac"] = record_mac(settings, record)
        handle.seek(0, os.SEEK_END)
        handle.write(canonical(record) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
        anchor(settings).append(stamp(handle, Head(record["log"], record["seq"], record["mac"])))
    return record


def rotate(settings: Settings, entry: dict, verdict: dict) -> tuple[Path, dict]:
    """Keep the current log as evidence (renamed, never deleted) and start a new one whose first record
    says why, which log it follows and where that log stopped verifying."""
    path = log_path(settings)
    with store.exclusive(path.with_suffix(".lock")):
        with store.open_private(path) as handle:
            last = store.last_line(handle)
        old = (parse(settings, last) or {}).get("log") or verdict.get("log") or secrets.token_hex(8)
        kept = path.with_name(f"reads.{datetime.now(UTC):%Y%m%dT%H%M%S}.{old}.jsonl")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()  # the kept log as it was: any later change shows
        path.rename(kept)
        record = {**entry, "log": secrets.token_hex(8), "seq": 1, "time": datetime.now(UTC).isoformat()}
        follows = {"log": old, "file": kept.name, "sha256": digest, **verdict}
        record |= {"follows": follows, "prev_mac": verdict.get("last_mac", GENESIS)}
        record["mac"] = record_mac(settings, record)
        with store.open_private(path) as handle:
            handle.write(canonical(record) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
            anchor(settings).append(stamp(handle, Head(record["log"], 1, record["mac"])))
    return kept, record


def _read(settings: Settings, path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [r for line in path.read_bytes().splitlines() if line.strip() and (r := parse(settings, line))]


def records(settings: Settings, kept: bool = False) -> list[dict]:
    """Every intact record of the current log (a damaged line is skipped here; ``verify`` names it); with
    ``kept``, first those of the logs it follows, oldest first (what who-read answers from)."""
    current = _read(settings, log_path(settings))
    if not kept:
        return current
    logs, first = [current], current[0] if current else {}
    while "follows" in first and len(logs) < 1000:
        kept_log = log_path(settings).with_name(first["follows"]["file"])
        if not kept_log.exists():  # an answer without it would look whole: say it is not
            raise AuditDamaged(f"the kept log {kept_log.name} is missing: the answer would leave its reads out "
                               "('xgate audit verify')")  # fmt: skip
        older = _read(settings, kept_log)
        logs.append(older)
        first = older[0] if older else {}
    return [r for log in reversed(logs) for r in log]


def reads(settings: Settings) -> list[dict]:
    """One entry per read: its ``started`` record completed by its outcome, or marked ``incomplete``
    when the process died before it ended (killed, out of memory)."""
    out: dict[tuple[str, int], dict] = {}
    for record in records(settings, kept=True):
        started = (record["log"], record.get("of"))
        if started in out:
            begun = out[started]
            out[started] = begun | record | {"subjects": sorted(set(begun.get("subjects", ())) | set(record.get(
                "subjects", ()))), "seq": begun["seq"], "time": begun["time"]}  # fmt: skip
        else:
            incomplete = {"outcome": "incomplete"} if record.get("outcome") == "started" else {}
            out[(record["log"], record["seq"])] = record | incomplete
    return list(out.values())


def who_read(settings: Settings, id_number: str) -> list[dict]:
    """Every read whose result or query named this person (allowed or refused)."""
    wanted = subject_hash(settings, id_number)
    return [r for r in reads(settings) if wanted in r.get("subjects", ()) or wanted in r.get("possible_subjects", ())]

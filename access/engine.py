"""Where a query people wrote runs: a DuckDB instance that holds only masked copies, within limits.

For each read the instance first attaches the lake read-only (at the snapshot asked for), copies each
relation the plan names into a temporary table as the reader may see it (:mod:`access.masked`), then
detaches the lake, turns off every file and network access and locks its configuration. Only then does
the query run, so whatever it does it can reach nothing but those copies: no lake catalog, no data file,
no setting. The lake is held only while the copies are made, so a read never blocks a sync for longer
than that. The query is interrupted at ``XGATE_QUERY_TIMEOUT``, held to ``XGATE_QUERY_MEMORY``, and its
result cut at ``XGATE_QUERY_ROWS`` rows and ``XGATE_QUERY_BYTES`` bytes.

A failure shows the reader a fixed sentence and an error id; the database's own message, with every
quoted value and long number cut out, goes to the engineers' log (``<data dir>/logs/access.log``) under
that id. No message of the database reaches the reader or the audit as it is.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from access import audit, masked, policy
from access.plan import Plan
from contracts.masking import MASK_MACRO
from warehouse import lake, storage
from xgate.errors import FatalError
from xgate.settings import Settings

QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
NUMBERS = re.compile(r"[0-9０-９]{4,}")
NOT_ASCII = re.compile(r"[^\x20-\x7e]+")
FAILURES = {  # the database's exception -> what the reader is told
    duckdb.ConversionException: "a value could not be converted to the type asked for",
    duckdb.OutOfMemoryException: "the query needed more memory than a read may use (XGATE_QUERY_MEMORY)",
    duckdb.BinderException: "a name or type in the query does not fit the data",
    duckdb.InvalidInputException: "a function was given input it cannot take",
}


class QueryFailed(FatalError):
    """A query that ran and failed: the reader gets a fixed sentence and an error id, never the detail."""


@dataclass
class Result:
    columns: tuple[str, ...]
    rows: list[tuple]
    snapshot: int | None
    truncated: str | None = None  # why the result was cut, if it was
    exact_ids: set[str] = field(default_factory=set)  # ID numbers the result shows in full
    exact: set[str] = field(default_factory=set)  # subject hashes of case subjects it shows in full
    possible: set[str] = field(default_factory=set)  # subject hashes behind the masked numbers it shows


def redact(text: str) -> str:
    """A database message fit for a log: its first line, with quoted values, numbers of four digits or more
    and anything not plain ASCII cut out (a value can follow a message on its own line, or unquoted)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return NOT_ASCII.sub("<value>", NUMBERS.sub("<n>", QUOTED.sub("'<value>'", first)))[:500]


def failed(settings: Settings, exc: Exception, reason: str | None = None) -> QueryFailed:
    """Log ``exc`` redacted under a new error id and return the reader's one line."""
    error_id = f"E-{secrets.token_hex(4)}"
    folder = settings.data_dir / "logs"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    entry = {"time": datetime.now(UTC).isoformat(), "id": error_id, "type": type(exc).__name__}
    with (folder / "access.log").open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry | {"detail": redact(str(exc))}, ensure_ascii=False) + "\n")
    told = reason or next((text for kind, text in FAILURES.items() if isinstance(exc, kind)), "the query failed")
    return QueryFailed(f"{told} (error {error_id}; engineers find the detail under that id)")


@contextmanager
def deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[threading.Event]:
    """Interrupt ``con`` after ``seconds``; the event says whether it fired."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _lock_down(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con.execute("USE memory")
    con.execute(f"DETACH {lake.LAKE}")
    con.execute(f"DROP TEMPORARY SECRET IF EXISTS {storage.SECRET}")  # the bucket's key pair goes with the lake
    con.execute("SET enable_external_access = false")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET lock_configuration = true")


def run(settings: Settings, plan: Plan, context: masked.Context, as_of: int | None) -> Result:
    """Run ``plan`` over masked copies of its relations, isolated and within the limits."""
    con = lake.connect(settings, read_only=True, as_of=as_of, memory_limit=settings.query_memory)
    try:
        with deadline(con, settings.query_timeout) as fired:
            try:
                snapshot = as_of if as_of is not None else con.execute("FROM lake.current_snapshot()").fetchone()[0]
                con.execute("USE memory")
                con.execute(MASK_MACRO)
                for relation in plan.relations:
                    subject = policy.subject_column(relation.table)  # kept in the copy: whom each row is about
                    columns = relation.columns + ((subject,) if subject and subject not in relation.columns else ())
                    copy = masked.select(relation.table, columns, context, sid=True)
                    con.execute(f"CREATE TEMP TABLE {relation.name} AS {copy}", context.params(copy))
                _lock_down(con, settings)
                result = _fetch(con, plan, settings, snapshot)
                _whom(con, plan, result, context)
            except duckdb.InterruptException as exc:
                if fired.is_set():
                    raise failed(settings, exc, f"the query ran longer than {settings.query_timeout:g} s "
                                 "(XGATE_QUERY_TIMEOUT)") from None  # fmt: skip
                raise
            except duckdb.Error as exc:
                raise failed(settings, exc) from None
    finally:
        con.close()
    return result


def _fetch(con: duckdb.DuckDBPyConnection, plan: Plan, settings: Settings, snapshot: int | None) -> Result:
    cursor = con.execute(plan.sql)
    rows: list[tuple] = []
    size, truncated = 0, None
    while batch := cursor.fetchmany(256):
        for row in batch:
            size += sum(len(str(v)) for v in row)
            if len(rows) == settings.query_rows:
                truncated = f"more than {settings.query_rows:,} rows (XGATE_QUERY_ROWS)"
            elif size > settings.query_bytes:
                truncated = f"more than {settings.query_bytes:,} bytes (XGATE_QUERY_BYTES)"
            if truncated:
                return Result(plan.columns, rows, snapshot, truncated)
            rows.append(row)
    return Result(plan.columns, rows, snapshot)


MASKED_NUMBER = re.compile(r"[0-9]{6}\*{5,}[0-9]{3}[0-9Xx]|1[0-9]{2}\*{4}[0-9]{4}")


def _whom(con: duckdb.DuckDBPyConnection, plan: Plan, result: Result, context: masked.Context) -> None:
    """Whom the result concerns, read off what it shows (no lineage to trust): an ID number shown in full is
    exact; a case subject's personal value shown in full (also inside a longer string) is exact; every
    case subject whose values the query read in full is possible (any expression may carry them out); a
    masked ID or phone could be any person whose number masks that way in the copies read, all of whom
    are possible. Each as the audit's subject hash."""
    text = unicodedata.normalize("NFKC", "\n".join(str(v) for row in result.rows for v in row if v is not None))
    result.exact_ids = {m.upper() for m in audit.ID_NUMBER.findall(text)}
    tokens = sorted(set(MASKED_NUMBER.findall(text)))
    for relation in plan.relations:
        names = [r[0] for r in con.execute(f"DESCRIBE {relation.name}").fetchall() if r[0] != masked.SID]
        personal = [n for n in names if policy.level(policy.column_origins(relation.table, n), context.granted)
                    == policy.MASK]  # fmt: skip
        subject = policy.subject_column(relation.table)
        if not personal or subject not in names:
            continue
        listed = ", ".join(f'CAST("{n}" AS VARCHAR)' for n in personal)
        if context.subjects and text:
            whose = f'list_contains($s, CAST("{subject}" AS VARCHAR))'
            shown = con.execute(
                f"SELECT {masked.SID}, [{listed}] FROM {relation.name} WHERE {whose}", {"s": sorted(context.subjects)}
            ).fetchall()
            result.exact |= {sid for sid, values in shown if any(v and len(v) > 1 and v in text for v in values)}
            # a value changed on the way out (reversed, spaced, hashed) is not found in the text, yet the query
            # had this subject's values in full: every such subject is a possible read, found or not
            result.possible |= {sid for sid, _ in shown if sid}
        if tokens:
            found = con.execute(
                f"SELECT DISTINCT {masked.SID} FROM {relation.name} WHERE list_has_any([{listed}], $t)", {"t": tokens}
            ).fetchall()
            result.possible |= {sid for (sid,) in found if sid}

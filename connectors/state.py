"""Incremental state and the batch ledger, in one SQLite file under the data directory.

A stream's checkpoint is the newest (cursor, primary key) that has **landed**. Extraction never moves
it: it records a pending checkpoint with the batch, and :meth:`StateStore.commit` moves it once the
warehouse reports the batch landed. So a crash anywhere before that re-reads from the last landed
point, and nothing is skipped. Beside the checkpoint we keep the (key, cursor) pairs inside the
look-back window, so re-reading the window for late updates does not re-deliver unchanged rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from xgate.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (
    source TEXT, stream TEXT, cursor TEXT, key TEXT, window TEXT, schema TEXT, committed_at TEXT,
    PRIMARY KEY (source, stream));
CREATE TABLE IF NOT EXISTS batch (
    batch_id TEXT PRIMARY KEY, source TEXT, stream TEXT, mode TEXT, status TEXT, rows INTEGER,
    started_at TEXT, finished_at TEXT, pending TEXT, error TEXT, file TEXT);
CREATE INDEX IF NOT EXISTS batch_by_stream ON batch (source, stream, started_at);
"""


@dataclass
class Checkpoint:
    cursor: str | None = None  # ISO-8601 UTC instant
    key: str | None = None
    window: list[tuple[str, str]] = field(default_factory=list)  # (key, cursor) pairs already landed
    schema: dict[str, str] = field(default_factory=dict)  # column -> type of the last landed batch


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class StateStore:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "connectors.sqlite"
        with self._db() as db:
            db.executescript(SCHEMA)
            if "file" not in {row["name"] for row in db.execute("PRAGMA table_info(batch)")}:  # ledgers before it
                db.execute("ALTER TABLE batch ADD COLUMN file TEXT")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.row_factory = sqlite3.Row
        return db

    def checkpoint(self, source: str, stream: str) -> Checkpoint:
        with self._db() as db:
            row = db.execute("SELECT * FROM checkpoint WHERE source=? AND stream=?", (source, stream)).fetchone()
        if row is None:
            return Checkpoint()
        return Checkpoint(
            row["cursor"], row["key"], [tuple(p) for p in json.loads(row["window"])], json.loads(row["schema"])
        )

    def begin(self, batch_id: str, source: str, stream: str, mode: str, file: str | None = None) -> None:
        """Record a new batch; an earlier one of the same stream (and file) still ``running`` was killed
        mid-way (runs of one stream take turns, see :func:`connectors.locks.source_lock`): say so."""
        with self._db() as db:
            db.execute(
                "UPDATE batch SET status='abandoned', finished_at=?, error='the run stopped before the batch was "
                "staged' WHERE status='running' AND source=? AND stream=? AND file IS ?",
                (now(), source, stream, file),
            )
            db.execute(
                "INSERT INTO batch (batch_id, source, stream, mode, status, rows, started_at, file) "
                "VALUES (?, ?, ?, ?, 'running', 0, ?, ?)",
                (batch_id, source, stream, mode, now(), file),
            )

    def rejected(self, batch_id: str, reason: str) -> None:
        """The batch's one file was rejected whole: nothing to land, the reason is kept."""
        with self._db() as db:
            db.execute(
                "UPDATE batch SET status='rejected', finished_at=?, error=? WHERE batch_id=?", (now(), reason, batch_id)
            )

    def batch(self, batch_id: str) -> sqlite3.Row | None:
        with self._db() as db:
            return db.execute("SELECT * FROM batch WHERE batch_id=?", (batch_id,)).fetchone()

    def staged(self, batch_id: str, rows: int, pending: dict) -> None:
        """The batch's files are complete; ``pending`` is what commit will apply once it lands."""
        with self._db() as db:
            db.execute(
                "UPDATE batch SET status='staged', rows=?, finished_at=?, pending=? WHERE batch_id=?",
                (rows, now(), json.dumps(pending), batch_id),
            )

    def failed(self, batch_id: str, error: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE batch SET status='failed', finished_at=?, error=? WHERE batch_id=?", (now(), error, batch_id)
            )

    def commit(self, batch_id: str) -> list[str]:
        """The warehouse landed this batch: move the stream's checkpoint forward (never back). Batches of the
        same stream (and file) staged before it by runs that died before landing are superseded: their ids
        are returned, for their staged files to be swept."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM batch WHERE batch_id=?", (batch_id,)).fetchone()
            if row is None or row["status"] not in ("staged", "landed"):
                db.execute("ROLLBACK")
                raise ConfigError(f"batch {batch_id!r} is not staged; only a staged batch can be committed")
            pending = json.loads(row["pending"] or "{}")
            if pending.get("cursor") or pending.get("schema"):
                old = db.execute(
                    "SELECT * FROM checkpoint WHERE source=? AND stream=?", (row["source"], row["stream"])
                ).fetchone()
                merged = _merge(old, pending)
                db.execute(
                    "INSERT OR REPLACE INTO checkpoint VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["source"],
                        row["stream"],
                        merged["cursor"],
                        merged["key"],
                        json.dumps(merged["window"]),
                        json.dumps(merged["schema"]),
                        now(),
                    ),
                )
            db.execute("UPDATE batch SET status='landed' WHERE batch_id=?", (batch_id,))
            superseded = [
                r["batch_id"]
                for r in db.execute(
                    "SELECT batch_id FROM batch WHERE status='staged' AND source=? AND stream=? AND file IS ? "
                    "AND started_at < ?",
                    (row["source"], row["stream"], row["file"], row["started_at"]),
                )
            ]
            db.executemany("UPDATE batch SET status='superseded' WHERE batch_id=?", [(b,) for b in superseded])
            db.execute("COMMIT")
        return superseded

    def batches(self, *statuses: str) -> list[sqlite3.Row]:
        """Batches in these statuses, oldest first."""
        marks = ", ".join("?" * len(statuses))
        with self._db() as db:
            return db.execute(f"SELECT * FROM batch WHERE status IN ({marks}) ORDER BY started_at", statuses).fetchall()

    def last_batches(self, source: str) -> list[sqlite3.Row]:
        with self._db() as db:
            return db.execute(
                "SELECT * FROM batch WHERE source=? AND started_at = (SELECT max(started_at) FROM batch b "
                "WHERE b.source = batch.source AND b.stream = batch.stream) ORDER BY stream",
                (source,),
            ).fetchall()


def _merge(old: sqlite3.Row | None, pending: dict) -> dict:
    """Newest checkpoint wins; the look-back window keeps pairs from both that are still inside it."""
    if old is None:
        return {"cursor": None, "key": None, "window": [], "schema": {}} | pending
    if not pending.get("cursor"):  # a stream without a cursor (file drops): only the schema moves
        return {
            "cursor": old["cursor"],
            "key": old["key"],
            "window": json.loads(old["window"]),
            "schema": pending.get("schema") or json.loads(old["schema"]),
        }
    newest = max((old["cursor"] or "", old["key"] or ""), (pending["cursor"], pending["key"] or ""))
    floor = pending.get("window_floor") or ""
    pairs = {tuple(p) for p in json.loads(old["window"])} | {tuple(p) for p in pending["window"]}
    return {
        "cursor": newest[0],
        "key": newest[1],
        "window": sorted(p for p in pairs if p[1] >= floor),
        "schema": pending.get("schema") or json.loads(old["schema"]),
    }

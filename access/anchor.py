"""The audit's head, kept outside the log: where a rewritten, cut or replaced log is caught.

A keyed chain stops anyone without the access key from editing a record unnoticed; it cannot stop
someone from cutting records off the end, or from putting back an older copy of the whole log. So every
append also leaves (log id, seq, MAC) in a second store that the log's writer can only add to: a file on
another file system (``XGATE_AUDIT_ANCHOR=/path``; default ``<access dir>/audit.anchor``) or a
PostgreSQL table (``XGATE_AUDIT_ANCHOR=postgresql://...``; grant the writer INSERT and SELECT only).
``verify`` compares the log's end with the newest anchor. The anchor also keeps the log file's size and
inode change time after the append: the next append finds any write made around xgate since (an edit
anywhere in the file changes the change time, which no user can set back) and refuses to go on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from access import store
from xgate.errors import FatalError
from xgate.settings import Settings


@dataclass(frozen=True)
class Head:
    log: str
    seq: int
    mac: str
    size: int = field(default=-1, compare=False)  # the log file's size and inode change time right after
    ctime: int = field(default=-1, compare=False)  # this record: any write around xgate changes them


class AnchorUnavailable(FatalError):
    """The anchor store cannot be read or written: reads are refused rather than left unanchored."""


def _shown(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url.split("?")[0]


class FileAnchor:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, head: Head) -> None:
        item = {"log": head.log, "seq": head.seq, "mac": head.mac, "size": head.size, "ctime": head.ctime}
        store.private_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(item | {"time": datetime.now(UTC).isoformat()}) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def last(self) -> Head | None:
        if not self.path.exists():
            return None
        with self.path.open("rb") as handle:
            line = store.last_line(handle)
        if not line:
            return None
        try:
            item = json.loads(line)
            return Head(str(item["log"]), int(item["seq"]), str(item["mac"]), int(item["size"]), int(item["ctime"]))
        except (ValueError, KeyError, TypeError):
            raise AnchorUnavailable(f"audit anchor {self.path} ends in a damaged line") from None


class PostgresAnchor:
    TABLE = "xgate_audit_anchor"

    def __init__(self, url: str, kind: str) -> None:
        self.url, self.kind = url, kind

    @cache  # noqa: B019 - one connection per anchor for the process's life
    def _con(self):
        import psycopg

        try:
            con = psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {self.TABLE} (id bigserial PRIMARY KEY, kind text NOT NULL, log text NOT"
                " NULL, seq bigint NOT NULL, mac text NOT NULL, size bigint NOT NULL, ctime bigint NOT NULL,"
                " at timestamptz NOT NULL DEFAULT now())"
            )
        except psycopg.Error as exc:
            raise AnchorUnavailable(
                f"audit anchor {_shown(self.url)} cannot be reached ({type(exc).__name__})"
            ) from None
        return con

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        try:
            cursor = self._con().execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            self._con.cache_clear()
            raise AnchorUnavailable(f"audit anchor {_shown(self.url)} failed ({type(exc).__name__})") from None

    def append(self, head: Head) -> None:
        self._run(
            f"INSERT INTO {self.TABLE} (kind, log, seq, mac, size, ctime) VALUES (%s, %s, %s, %s, %s, %s)",
            (self.kind, head.log, head.seq, head.mac, head.size, head.ctime),
        )

    def last(self) -> Head | None:
        rows = self._run(
            f"SELECT log, seq, mac, size, ctime FROM {self.TABLE} WHERE kind = %s ORDER BY id DESC LIMIT 1",
            (self.kind,),
        )
        return Head(*rows[0]) if rows else None


Kind = Literal["audit", "ledger"]


def anchor(settings: Settings, kind: Kind = "audit") -> FileAnchor | PostgresAnchor:
    """Where the heads of ``kind`` (the read audit, or the ledger of cases and grants) are kept."""
    where = settings.audit_anchor
    if where and where.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        return _postgres(where, kind)
    path = Path(where) if where else store.access_dir(settings) / "audit.anchor"
    return FileAnchor(path if kind == "audit" else path.with_name(f"{path.name}.{kind}"))


@cache
def _postgres(url: str, kind: Kind) -> PostgresAnchor:
    return PostgresAnchor(url, kind)

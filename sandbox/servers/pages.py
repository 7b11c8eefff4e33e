"""Keyset paging over a department dataset, as served at the sandbox's current wave.

Rows are ordered by (modification time, primary key), the order a real incremental API guarantees;
a page token is the last (time, key) served, so a row updated between two pages is never skipped and
pages never overlap. The dataset reloads by itself when ``xgate sandbox advance`` moves the wave.
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sandbox import store
from sandbox.settings import SandboxSettings

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S+08:00"  # department systems keep Asia/Shanghai local time


class PagedDataset:
    def __init__(self, settings: SandboxSettings, dataset: str, key: str, stamp: str) -> None:
        self.settings, self.dataset, self.key, self.stamp = settings, dataset, key, stamp
        self._lock = threading.Lock()
        self._loaded_state: str | None = None
        self._rows: pa.Table | None = None

    def _current(self) -> pa.Table:
        state = store.paths(self.settings).state.read_text()
        with self._lock:
            if state != self._loaded_state:
                table = store.visible(self.settings, self.dataset, json.loads(state)["wave"])
                table = table.sort_by([(self.stamp, "ascending"), (self.key, "ascending")])
                self._seconds = table[self.stamp].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
                self._keys = table[self.key].to_pylist()
                self._rows = _as_text(table)
                self._loaded_state = state
            return self._rows

    def _range(self, since: datetime | None, until: datetime | None) -> tuple[int, int]:
        seconds = self._seconds
        lo = 0 if since is None else int(np.searchsorted(seconds, _epoch(since), "left"))
        hi = len(seconds) if until is None else int(np.searchsorted(seconds, _epoch(until), "left"))
        return lo, max(lo, hi)

    def numbered(
        self, since: datetime | None, until: datetime | None, offset: int, limit: int
    ) -> tuple[list[dict], int]:
        """Rows with since <= stamp < until from ``offset`` on (page-number and offset APIs); and the total."""
        rows = self._current()
        lo, hi = self._range(since, until)
        start = min(hi, lo + offset)
        return rows.slice(start, max(0, min(hi, start + limit) - start)).to_pylist(), hi - lo

    def page(
        self, since: datetime | None, until: datetime | None, after: str | None, limit: int
    ) -> tuple[list[dict], str | None, int]:
        """Rows with since <= stamp < until, after the token; returns (rows, next token, total matched)."""
        rows = self._current()
        seconds, keys = self._seconds, self._keys
        lo, hi = self._range(since, until)
        total = hi - lo
        start = lo
        if after:
            t, k = decode_token(after)
            first = int(np.searchsorted(seconds, t, "left"))
            last = int(np.searchsorted(seconds, t, "right"))
            start = max(lo, bisect.bisect_right(keys, k, first, last) if first < last else first)
        end = min(hi, start + limit)
        page = rows.slice(start, max(0, end - start)).to_pylist()
        token = encode_token(int(seconds[end - 1]), keys[end - 1]) if end < hi and end > start else None
        return page, token, total


def _epoch(moment: datetime) -> int:
    """Seconds of a local (Asia/Shanghai) wall time, comparable with the stored naive times."""
    if moment.tzinfo is not None:
        from datetime import timedelta, timezone

        moment = moment.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
    return int((np.datetime64(moment, "s") - np.datetime64(0, "s")).astype(np.int64))


def _as_text(table: pa.Table) -> pa.Table:
    """Dates and times as the ISO text JSON carries (times with their +08:00 offset)."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            column = pc.strftime(column.cast(pa.timestamp("s")), format=TIME_FORMAT)
        elif pa.types.is_date(field.type):
            column = pc.strftime(column, format="%Y-%m-%d")
        columns.append(column)
    return pa.table(columns, names=table.schema.names)


def encode_token(seconds: int, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([seconds, key]).encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[int, str]:
    try:
        seconds, key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(seconds), str(key)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"malformed page token {token!r}") from exc

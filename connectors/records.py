"""Turning what a source sends into Arrow, and its modification times into comparable instants."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import chain

import numpy as np
import pyarrow as pa

JSON_KINDS = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


# pa.array and pa.scalar on Python objects import pandas (half a second) to ask whether the input is a
# pandas object; these two build the columns every batch carries without it, so a ten-row file is checked
# in about a second.
def texts(values: list[str | None]) -> pa.Array:
    """A string column from Python strings."""
    builder = pa.lib.StringBuilder()
    builder.append_values(values)
    return builder.finish()


def instants(moment: datetime, count: int) -> pa.Array:
    """``count`` copies of an aware ``moment`` as a UTC microsecond timestamp column."""
    micros = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    return pa.Array.from_buffers(
        pa.timestamp("us", tz="UTC"), count, [None, pa.py_buffer(np.full(count, micros, dtype=np.int64))]
    )


def json_table(records: list[dict]) -> tuple[pa.Table, dict[str, str]]:
    """JSON records as text columns (raw, as received) plus the JSON kind of each field, for drift checks
    ("null" when a field has no value in these records: compatible with any kind).

    Every field of every record becomes a column (a field first seen on row 4,000 is not dropped).
    """
    names = list(dict.fromkeys(chain.from_iterable(records)))
    try:  # the common case: every value is text or null, converted in C
        table = pa.Table.from_pylist(records, schema=pa.schema([(n, pa.string()) for n in names]))
        return table, {n: "string" if c.null_count < len(c) else "null" for n, c in zip(names, table.columns)}
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    kinds: dict[str, str] = {}
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        kinds[name] = next((JSON_KINDS.get(type(v), "string") for v in values if v is not None), "null")
        columns[name] = pa.array([_text(v) for v in values], pa.string())
    return pa.table(columns), kinds


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)  # numbers and booleans as JSON writes them: 1, 2.5, true


def parse_offset(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def to_instant(value: object, zone: timezone) -> datetime | None:
    """A modification time as an aware UTC instant; naive values are the source's local time."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def cursor_micros(column: pa.ChunkedArray | pa.Array, zone: timezone) -> np.ndarray:
    """Modification times as UTC microseconds since the epoch, vectorised (naive = source local time)."""
    offset = int(zone.utcoffset(None).total_seconds() * 1_000_000)
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            return _int64(column.cast(pa.timestamp("us", tz="UTC")))
        except pa.ArrowInvalid:
            pass
        try:  # no offset in the text: the source's local time
            return _int64(column.cast(pa.timestamp("us"))) - offset
        except pa.ArrowInvalid:  # offsets on some values only: one by one
            instants = [to_instant(v, zone) for v in column.to_pylist()]
            return np.array(
                [NO_CURSOR if t is None else int((t - EPOCH).total_seconds() * 1_000_000) for t in instants],
                dtype=np.int64,
            )
    if pa.types.is_timestamp(kind):
        micros = _int64(column.cast(pa.timestamp("us", tz=kind.tz)))
        return micros if kind.tz else np.where(micros == NO_CURSOR, NO_CURSOR, micros - offset)
    if pa.types.is_date(kind):
        micros = _int64(column.cast(pa.timestamp("us")))
        return np.where(micros == NO_CURSOR, NO_CURSOR, micros - offset)
    raise TypeError(f"cursor column of type {kind} is not a time")


NO_CURSOR = np.iinfo(np.int64).min  # a row without a modification time: always read, never a checkpoint


def _int64(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return column.cast(pa.int64()).fill_null(NO_CURSOR).to_numpy(zero_copy_only=False)


def micros_iso(micros: int) -> str:
    return (EPOCH + timedelta(microseconds=int(micros))).isoformat()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

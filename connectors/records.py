"""Turning what a source sends into Arrow, and its modification times into comparable instants."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import chain

import numpy as np
import pyarrow as pa

JSON_KINDS = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def json_table(records: list[dict]) -> tuple[pa.Table, dict[str, str]]:
    """JSON records as text columns (raw, as received) plus the JSON kind of each field, for drift checks.

    Every field of every record becomes a column (a field first seen on row 4,000 is not dropped).
    """
    names = list(dict.fromkeys(chain.from_iterable(records)))
    try:  # the common case: every value is text or null, converted in C
        table = pa.Table.from_pylist(records, schema=pa.schema([(n, pa.string()) for n in names]))
        return table, {n: "string" for n, c in zip(names, table.columns) if c.null_count < len(c)}
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    kinds: dict[str, str] = {}
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        kind = next((JSON_KINDS.get(type(v), "string") for v in values if v is not None), None)
        if kind:
            kinds[name] = kind
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
            return column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # no offset in the text: local time
            return column.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False) - offset
    if pa.types.is_timestamp(kind):
        micros = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return micros if kind.tz else micros - offset
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False) - offset
    raise TypeError(f"cursor column of type {kind} is not a time")


def micros_iso(micros: int) -> str:
    return (EPOCH + timedelta(microseconds=int(micros))).isoformat()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

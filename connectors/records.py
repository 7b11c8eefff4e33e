"""Turning what a source sends into Arrow, and its modification times into comparable instants."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa

JSON_KINDS = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def json_table(records: list[dict]) -> tuple[pa.Table, dict[str, str]]:
    """JSON records as text columns (raw, as received) plus the JSON kind of each field, for drift checks."""
    names: dict[str, None] = {}
    kinds: dict[str, str] = {}
    for record in records:
        for name, value in record.items():
            names.setdefault(name)
            if value is not None and name not in kinds:
                kinds[name] = JSON_KINDS.get(type(value), "string")
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        columns[name] = pa.array(
            [
                v
                if isinstance(v, str) or v is None
                else json.dumps(v, ensure_ascii=False)
                if isinstance(v, dict | list)
                else str(v)
                for v in values
            ],
            pa.string(),
        )
    return pa.table(columns), kinds


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

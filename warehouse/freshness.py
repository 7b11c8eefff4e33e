"""Freshness of the warehouse against each contract's SLA: how old is the newest record we hold?

Measured on the lake, not on the last batch: a source that stops sending anything new (every batch
empty) goes stale here while every batch still looks fine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

import duckdb

from contracts import contracts
from contracts.sql import quote
from warehouse.land import table_name


@dataclass
class Freshness:
    dataset: str
    newest: datetime | None
    age_hours: float | None
    sla_hours: float

    @property
    def ok(self) -> bool:
        return self.age_hours is not None and self.age_hours <= self.sla_hours


def freshness(
    con: duckdb.DuckDBPyConnection, datasets: Iterable[str], zone: tzinfo, now: datetime | None = None
) -> list[Freshness]:
    """The newest record of each dataset with a freshness SLA, read from its conformed (typed) view;
    a date or naive time is the department's wall clock (``zone``)."""
    now = now or datetime.now(UTC)
    views = {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'lake'"
        ).fetchall()
    }
    found = []
    every = contracts()
    for dataset in datasets:
        contract = every[dataset]
        if not contract.freshness or not contract.freshness_field:
            continue
        view = "conformed." + table_name(dataset).split(".", 1)[1]
        newest = None
        if view in views:
            newest = con.execute(f"SELECT max({quote(contract.freshness_field)}) FROM {view}").fetchone()[0]
        if isinstance(newest, date) and not isinstance(newest, datetime):  # a day's records count from its start
            newest = datetime.combine(newest, time(), tzinfo=zone)
        elif isinstance(newest, datetime) and newest.tzinfo is None:
            newest = newest.replace(tzinfo=zone)
        age = round((now - newest).total_seconds() / 3600, 2) if isinstance(newest, datetime) else None
        found.append(Freshness(dataset, newest, age, contract.freshness.total_seconds() / 3600))
    return found

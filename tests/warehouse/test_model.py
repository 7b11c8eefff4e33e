"""On the sandbox, end to end: every dataset lands and the discrepancy views find the planted anomalies.

The lake (``landed``) is built once per session in ``tests/conftest.py`` and shared with the access tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from connectors.records import parse_offset
from contracts import contracts
from sandbox.scoring import PLANTED, score
from warehouse import lake
from warehouse.model import DISCREPANCIES, VIEWS, conformed_sql, table_name


def test_every_view_is_published(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    for view in VIEWS:
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0, view


def test_discrepancy_views_find_the_planted_anomalies_and_nothing_else(landed) -> None:
    """Every planted exact-ID anomaly as before, and now the one-character and missing-ID variants that an
    ID join misses (joined on person_key); precision at least 99% per view."""
    con = lake.connect(landed[0], read_only=True)
    scores = score(con, landed[1])
    assert set(scores) == set(DISCREPANCIES) == set(PLANTED)
    for view, s in scores.items():
        assert s["planted"] > 0, view
        assert s["precision"] >= 0.99 and s["recall"] == 1.0, (view, s)
        assert all(recall == 1.0 for recall in s["variants"].values()), (view, s["variants"])
    kinds = {variant for s in scores.values() for variant in s["variants"]}
    assert {"exact", "one_char", "missing_id"} <= kinds, kinds


def test_conformed_views_type_every_field(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'conformed' AND table_name = 'civil_residents'"
        ).fetchall()
    )
    assert types["birth_date"] == "DATE" and types["updated_at"].startswith("TIMESTAMP WITH TIME ZONE")
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'conformed' AND table_name = 'telecom_subscribers'"
        ).fetchall()
    )
    assert types["activated_at"].startswith("TIMESTAMP WITH TIME ZONE") and types["_batch_id"] == "VARCHAR"
    for table in ("civil_residents", "telecom_subscribers", "health_patients", "housing_rental_filings"):
        raw, typed, unparsed = con.execute(
            f"SELECT (SELECT count(*) FROM raw.{table}), count(*), 0 FROM conformed.{table}"
        ).fetchone()
        assert raw == typed and unparsed == 0
    assert con.execute("SELECT count(*) FROM conformed.telecom_subscribers WHERE updated_at IS NULL").fetchone()[0] == 0


def test_a_bare_date_in_a_timestamp_field_is_its_midnight_not_missing(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    table = table_name("housing.rental_filings")
    raw = con.execute(f"SELECT count(filed_at), count(*) FILTER (WHERE length(filed_at) = 10) FROM {table}")
    filled, bare = raw.fetchone()
    assert bare > 0  # housing files some filings with a date only
    typed = con.execute(
        "SELECT count(filed_at), count(*) FILTER (WHERE strftime(filed_at AT TIME ZONE 'Asia/Shanghai', "
        "'%H:%M:%S') = '00:00:00') FROM conformed.housing_rental_filings"
    ).fetchone()
    assert typed[0] == filled and typed[1] >= bare


@pytest.mark.parametrize("zone", ["+08:00", "+05:30", "-05:00"])
def test_conformed_views_read_naive_times_in_the_source_zone(zone: str) -> None:
    contract = contracts()["telecom.subscribers"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.telecom_subscribers AS SELECT '2026-03-01 06:00:00' AS updated_at, "
        "'2026-03-01T06:00:00+00:00' AS activated_at, '2026-03-01' AS cancelled_at"
    )
    columns = {"updated_at", "activated_at", "cancelled_at"}
    naive, aware, day = con.execute(
        f"SELECT updated_at, activated_at, cancelled_at FROM ({conformed_sql(contract, columns, zone)})"
    ).fetchone()
    local = parse_offset(zone)
    assert naive == datetime(2026, 3, 1, 6, tzinfo=local)  # the department's wall clock, as freshness reads it
    assert aware == datetime(2026, 3, 1, 6, tzinfo=UTC)  # an offset in the text wins
    assert day == datetime(2026, 3, 1, tzinfo=local)  # a bare date is its local midnight

"""On the sandbox, end to end: every dataset lands and the discrepancy views find the planted anomalies."""

from __future__ import annotations

import shutil

import pytest

from sandbox import dbload, store, waves
from sandbox.manifest import read_manifest
from sandbox.servers import process
from tests.conftest import connections_for, make_settings
from warehouse import lake
from warehouse.model import DISCREPANCIES, VIEWS, score
from warehouse.sync import sync
from xgate.settings import Settings

SOURCES = ("civil", "housing", "housing_filings", "telecom", "health")


@pytest.fixture(scope="module")
def landed(sandbox_settings, tmp_path_factory) -> tuple[Settings, dict]:
    """Every source synced at wave 0, the sandbox advanced, and every source synced again."""
    root = tmp_path_factory.mktemp("landed")
    shutil.copytree(store.paths(sandbox_settings).root, root / "sandbox", ignore=shutil.ignore_patterns("run"))
    sandbox = make_settings(root)
    process.serve(sandbox)
    try:
        waves.load_databases(sandbox, "sqlite", ("civil", "housing"))
        databases = {d: dbload.database_url(sandbox, "sqlite", d).render_as_string() for d in ("civil", "housing")}
        xgate = Settings(
            data_dir=root / "xgate", connections=connections_for(sandbox, store.paths(sandbox).inbox, databases)
        )
        for source in SOURCES:
            sync(xgate, source)
        waves.advance(sandbox)
        for source in SOURCES:
            sync(xgate, source)
        yield xgate, read_manifest(store.paths(sandbox).manifest)
    finally:
        process.stop(sandbox)


def test_every_view_is_published(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    for view in VIEWS:
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0, view


def test_discrepancy_views_find_the_planted_anomalies_and_nothing_else(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    scores = score(con, landed[1])
    assert set(scores) == set(DISCREPANCIES)
    for view, s in scores.items():
        assert s["planted"] > 0, view
        assert (s["precision"], s["recall"]) == (1.0, 1.0), (view, s)


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


@pytest.mark.parametrize(
    "refused",
    [
        "SELECT * FROM read_parquet('x.parquet')",
        "SELECT 1; DROP TABLE raw.civil_residents",
        "ATTACH 'other.db' AS o",
        "COPY raw.civil_residents TO 'out.csv'",
        "SET enable_external_access = true",
        "SELECT * FROM main.secrets",
        "SELECT * FROM glob('*')",
        "not sql at all (",
    ],
)
def test_engineer_sql_refuses_anything_but_one_select_on_the_lake(landed, refused) -> None:
    from warehouse.query import run
    from xgate.errors import ConfigError

    with pytest.raises(ConfigError):
        run(landed[0], refused)
    log = (landed[0].data_dir / "audit" / "engineer_queries.jsonl").read_text(encoding="utf-8")
    assert refused in log


def test_engineer_sql_reads_the_lake_and_pins_snapshots(landed) -> None:
    from warehouse.query import run

    columns, rows = run(landed[0], "WITH d AS (SELECT * FROM shared.dead_but_registered) SELECT count(*) AS n FROM d")
    planted = sum(1 for a in landed[1]["anomalies"] if a["kind"] == "dead_but_registered")
    assert columns == ["n"] and rows[0][0] == planted > 0
    _, rows = run(landed[0], "SELECT count(*) FROM meta.batches", as_of=2)
    assert rows[0][0] < run(landed[0], "SELECT count(*) FROM meta.batches")[1][0][0]

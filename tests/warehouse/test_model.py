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

"""The department databases fill the real PostgreSQL and MariaDB servers, and take later waves."""

from __future__ import annotations

import pytest

from sandbox import dbload, store, waves
from tests.sandbox.helpers import sql_rows
from xgate.errors import SourceUnavailable


@pytest.mark.parametrize(("target", "department"), [("postgres", "civil"), ("mysql", "housing"), ("sqlite", "civil")])
def test_load_fills_the_server(own_sandbox, target, department) -> None:
    counts = waves.load_databases(own_sandbox, target, (department,))
    url = dbload.database_url(own_sandbox, target, department).render_as_string(hide_password=False)
    for dataset in dbload.DEPARTMENT_TABLES[department]:
        rows = sql_rows(url, dataset.split(".")[1])
        assert len(rows) == counts[dataset] == store.visible(own_sandbox, dataset).num_rows > 0


def test_advance_applies_the_wave_to_every_loaded_database(own_sandbox) -> None:
    waves.load_databases(own_sandbox, "postgres", ("civil",))
    waves.load_databases(own_sandbox, "sqlite", ("civil",))
    urls = [
        dbload.database_url(own_sandbox, t, "civil").render_as_string(hide_password=False)
        for t in ("postgres", "sqlite")
    ]
    before = {r["resident_id"]: r["status"] for r in sql_rows(urls[0], "residents")}
    waves.advance(own_sandbox)
    for url in urls:
        after = {r["resident_id"]: r["status"] for r in sql_rows(url, "residents")}
        assert len(after) == len(before)
        changed = {k for k in after if after[k] != before[k]}
        assert changed and {after[k] for k in changed} == {"注销"}
        assert len(sql_rows(url, "deaths")) == store.visible(own_sandbox, "civil.deaths", wave=1).num_rows


def test_unreachable_server_is_a_clear_error(own_sandbox) -> None:
    settings = own_sandbox.model_copy(update={"pg_url": "postgresql+psycopg://postgres:pw@127.0.0.1:1/x"})
    with pytest.raises(SourceUnavailable, match=r"127\.0\.0\.1:1") as caught:
        dbload.load(settings, "postgres", ("civil",))
    assert "pw" not in str(caught.value)

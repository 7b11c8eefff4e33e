"""Freshness is read from the lake: the newest record of every dataset with an SLA, against that SLA."""

from __future__ import annotations

from datetime import timedelta, timezone

from contracts import contracts
from warehouse import lake
from warehouse.freshness import freshness
from warehouse.land import table_name

SHANGHAI = timezone(timedelta(hours=8))


def test_every_dataset_with_an_sla_has_a_newest_record_judged_against_it(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    landed_tables = {
        f"raw.{t}" for (t,) in con.execute("SELECT name FROM (SHOW ALL TABLES) WHERE schema = 'raw'").fetchall()
    }
    with_sla = sorted(
        c.id for c in contracts().values() if c.freshness and c.freshness_field and table_name(c.id) in landed_tables
    )
    found = {f.dataset: f for f in freshness(con, with_sla, SHANGHAI)}
    assert sorted(found) == with_sla
    for dataset, f in found.items():
        assert f.newest is not None, dataset  # housing filed_at holds bare dates: their midnight counts
        [fresh] = freshness(con, [dataset], SHANGHAI, now=f.newest + timedelta(hours=1))
        [stale] = freshness(con, [dataset], SHANGHAI, now=f.newest + timedelta(hours=f.sla_hours + 1))
        assert (fresh.ok, fresh.age_hours, stale.ok) == (True, 1.0, False), dataset


def test_a_dataset_never_landed_has_no_record_and_is_not_fresh(landed, tmp_path) -> None:
    settings = landed[0].model_copy(update={"data_dir": tmp_path, "catalog_url": None})
    con = lake.connect(settings)
    [f] = freshness(con, ["telecom.subscribers"], SHANGHAI)
    assert (f.newest, f.age_hours, f.ok) == (None, None, False)

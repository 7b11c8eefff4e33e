"""The lake linkage on the session sandbox, scored against its ground truth (truth.parquet, manifest)."""

from __future__ import annotations

import pytest

from linkage.lake import link_lake
from linkage.score import lake_scores
from linkage.sources import PERSON_RECORDS
from sandbox import store
from warehouse import lake
from warehouse.land import table_name
from xgate.settings import Settings


@pytest.fixture(scope="module")
def scores(landed, sandbox_settings) -> dict:
    settings, manifest = landed
    con = lake.connect(settings, read_only=True)
    try:
        return lake_scores(con, store.paths(sandbox_settings).truth, manifest)
    finally:
        con.close()


def test_f1_on_exact_ids_one_character_and_swapped_digits_and_all_planted_pairs(scores) -> None:
    for name in ("exact_id", "one_character", "link_id_swapped"):
        assert scores[name]["pairs"] > 0 and scores[name]["f1"] >= 0.99, (name, scores[name])
    assert scores["all_planted"]["f1"] >= 0.95, scores["all_planted"]
    for pair, s in scores.items():
        if "~" in pair:
            assert s["f1"] >= 0.95, (pair, s)


def test_namesakes_born_the_same_year_are_never_one_person(landed, sandbox_settings) -> None:
    """Two men named 王伟 born in one year, in every record of every department: no record of one joins the
    other."""
    settings, manifest = landed
    con = lake.connect(settings, read_only=True)
    pairs = [a["records"] for a in manifest["anomalies"] if a["kind"] == "namesakes"]
    assert pairs
    truth = str(store.paths(sandbox_settings).truth)
    for a, b in pairs:
        rows = con.execute(
            """WITH t AS (SELECT dataset, key, person FROM read_parquet(?)),
            pair AS (SELECT person FROM t WHERE dataset = 'civil.residents' AND key IN (?, ?))
            SELECT t.person, l.person_key, f.name_cp, f.birth_year FROM t JOIN shared.person_link l
              ON l.dataset = t.dataset AND l.record_key = t.key
            JOIN linkage.features f ON f.unique_id = l.dataset || ':' || l.record_key
            WHERE t.person IN (SELECT person FROM pair)""",
            [truth, a["key"], b["key"]],
        ).fetchall()
        assert {r[2] for r in rows} == {"王伟"} and len({r[3] for r in rows if r[3]}) == 1, rows
        keys = {}
        for person, key, _, _ in rows:
            keys.setdefault(person, set()).add(key)
        assert len(keys) == 2 and not set.intersection(*keys.values()), rows


def test_every_person_record_is_linked_once_and_says_how(landed) -> None:
    con = lake.connect(landed[0], read_only=True)
    total, distinct, how = con.execute(
        "SELECT count(*), count(DISTINCT (dataset, record_key)), list(DISTINCT matched_by ORDER BY matched_by) "
        "FROM shared.person_link"
    ).fetchone()
    assert total == distinct == con.execute("SELECT count(*) FROM linkage.features").fetchone()[0]
    assert set(how) <= {"alone", "exact_id", "probable"} and "probable" in how
    assert con.execute("SELECT count(*) FROM linkage.models").fetchone()[0] >= 1


@pytest.fixture
def own_lake(landed, tmp_path) -> Settings:
    """A private lake holding the session lake's person records, linked once, free to re-link."""
    own = Settings(data_dir=tmp_path)
    source = lake.connect(landed[0], read_only=True)
    target = lake.connect(own)
    try:
        for table in [*(table_name(d) for d in PERSON_RECORDS), "quarantine.rows"]:
            target.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
            target.register("_t", source.execute(f"SELECT * FROM {table}").to_arrow_table())
            target.execute(f"CREATE TABLE {table} AS SELECT * FROM _t")
            target.unregister("_t")
        link_lake(target)
    finally:
        source.close()
        target.close()
    return own


def test_keys_are_stable_and_new_records_join_their_person_incrementally(own_lake, landed, sandbox_settings) -> None:
    con = lake.connect(own_lake)
    before = dict(con.execute("SELECT dataset || ':' || record_key, person_key FROM shared.person_link").fetchall())
    snapshots = con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
    run = link_lake(con, full=True)
    assert run.mode == "full"
    assert (
        con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0] == snapshots + 1
    )  # one transaction
    again = dict(con.execute("SELECT dataset || ':' || record_key, person_key FROM shared.person_link").fetchall())
    assert again == before
    assert (
        con.execute(f"SELECT count(*) FROM shared.person_key_history WHERE run_id = '{run.run_id}'").fetchone()[0] == 0
    )
    con.execute(
        "BEGIN; DELETE FROM linkage.features WHERE hash(unique_id) % 50 = 0; "
        "DELETE FROM shared.person_link WHERE hash(dataset || ':' || record_key) % 50 = 0; COMMIT"
    )
    run = link_lake(con)
    assert run.mode == "incremental" and 0 < run.linked < len(before) / 10
    after = dict(con.execute("SELECT dataset || ':' || record_key, person_key FROM shared.person_link").fetchall())
    moved = [k for k in before if after[k] != before[k]]
    assert len(after) == len(before) and len(moved) <= run.linked * 0.05, moved
    scores = lake_scores(con, store.paths(sandbox_settings).truth, landed[1])  # as good as a full run
    assert scores["exact_id"]["f1"] >= 0.99 and scores["all_planted"]["f1"] >= 0.95, scores
    nothing = link_lake(con)  # nothing new since: recorded, and committed
    assert nothing.mode == "incremental" and nothing.linked == 0
    assert con.execute(f"SELECT count(*) FROM linkage.runs WHERE run_id = '{nothing.run_id}'").fetchone()[0] == 1

"""Splink on DuckDB: train the model, score candidate pairs, cluster; or score new records against old.

Everything runs on a private in-memory DuckDB connection (splink creates its work tables there, never
in the lake). Training is splink's EM, seeded by the pairs that share an exact ID: the share of
matches comes from exact ID + name pairs, u from random pairs, m from EM first on the pairs that share
an exact ID (it learns how names, dates, phones and addresses of one person differ), then on pairs
with one name (the ID's own levels: swapped, one digit off) and on pairs with one birth date and
sex (the name's levels: homophones, one character off, as records without an ID show them);
splink averages each level's estimates over the sessions that learned it. The u of ID numbers close
enough to hold one birth date is measured among pairs born on one day (see ``comparisons.SAME_BIRTH``).
The trained model is splink's JSON, saved by the caller per run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from linkage import comparisons, features
from xgate import duck

U_PAIRS = 2e6  # random pairs sampled for u
EM_PAIRS = 2e6  # blocked pairs an EM session trains on at most
FLOOR = 1e-6  # least m and u of a level (see smoothed)
LINKABLE = "name_cp IS NOT NULL OR id18 IS NOT NULL"  # no usable name and no usable ID: never linked


@dataclass
class Scored:
    """Pairs above the threshold (``unique_id_l``, ``unique_id_r``, ``match_probability``, ``match_rule``)."""

    pairs: pa.Table
    candidates: int  # candidate pairs the blocking rules produced and the model scored


def workspace() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for splink, with the cleaning and comparison macros. Splink's progress
    messages and training warnings go to its logger, kept at ERROR: a run reports its own figures."""
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duck.connect()
    features.install_macros(con)
    return con


def _linker(
    con: duckdb.DuckDBPyConnection, tables: list[str], model: dict | None, link_type: str, explain: bool = False
):
    """A splink linker over feature tables; ``explain`` keeps each pair's comparison levels (gamma_*)."""
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    api = DuckDBAPI(connection=con)
    for t in tables:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {t}_in AS SELECT * FROM {t} WHERE {LINKABLE}")
    frames = [api.register(f"{t}_in") for t in tables]
    if model is None:
        spec = comparisons.settings(link_type)
        spec.retain_intermediate_calculation_columns = explain
    else:
        spec = model | {"retain_intermediate_calculation_columns": explain}
    return Linker(frames if len(frames) > 1 else frames[0], spec, log_level=None)


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def train(con: duckdb.DuckDBPyConnection, tables: list[str], link_type: str = "dedupe_only", explain: bool = False):
    """A linker over ``tables`` (feature tables on ``con``) with a model trained on them."""
    linker = _linker(con, tables, None, link_type)
    t = linker.training
    with_ids = sum(_count(con, table, "id18 IS NOT NULL") for table in tables)
    rules = [r for r in comparisons.DETERMINISTIC if with_ids or "id18" not in r]
    t.estimate_probability_two_random_records_match(rules, recall=0.8)
    t.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=1)
    if with_ids:
        t.estimate_parameters_using_expectation_maximisation("l.id18 = r.id18", max_pairs=EM_PAIRS)
    for rule in ("l.name_cp = r.name_cp", "l.birth_date = r.birth_date AND l.sex = r.sex"):
        t.estimate_parameters_using_expectation_maximisation(rule, max_pairs=EM_PAIRS)
    model = linker.misc.save_model_to_json()
    same_day = same_birth_u(con, tables)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("label_for_charts") in same_day:
                level["u_probability"] = same_day[level["label_for_charts"]]
    return _linker(con, tables, smoothed(model), link_type, explain)


def same_birth_u(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, float]:
    """u of the ID levels of :data:`comparisons.SAME_BIRTH`: their share among pairs of records born on
    one day (dates taken from valid IDs) with different ID numbers and names that are not alike (two
    people, not one person's typo), up to :data:`U_PAIRS` such pairs (whole days, picked at random);
    add-one smoothed, so a small lake does not read "never seen" as "impossible among strangers"."""
    dated = " UNION ALL ".join(
        f"SELECT unique_id, id_body, id_sorted, id18, birth_date, name_cp, name_py FROM {t} "
        "WHERE id18 IS NOT NULL AND strftime(birth_date, '%Y%m%d') = substring(id18, 7, 8)"
        for t in tables
    )
    pairs, swapped, one_off = con.execute(
        f"""WITH d AS ({dated}),
        days AS (SELECT birth_date, count(*) AS n FROM d GROUP BY birth_date),
        picked AS (SELECT birth_date FROM days
                   QUALIFY sum(n * (n - 1) / 2) OVER (ORDER BY hash(birth_date), birth_date) <= {U_PAIRS})
        SELECT count(*), count(*) FILTER (WHERE hamming(a.id_body, b.id_body) = 2 AND a.id_sorted = b.id_sorted),
          count(*) FILTER (WHERE hamming(a.id_body, b.id_body) = 1)
        FROM d a JOIN d b ON a.birth_date = b.birth_date AND a.unique_id < b.unique_id AND a.id18 <> b.id18
        WHERE a.birth_date IN (SELECT birth_date FROM picked) AND a.name_py IS DISTINCT FROM b.name_py
          AND NOT coalesce(xl_edit1(a.name_cp, b.name_cp), false)"""
    ).fetchone()
    return dict(zip(comparisons.SAME_BIRTH, ((swapped + 1) / (pairs + 2), (one_off + 1) / (pairs + 2))))


def smoothed(model: dict) -> dict:
    """The model with every m and u at least :data:`FLOOR`.

    A level no training pair reached has m or u of 0 (or none), which splink reads as a match made
    certain (u = 0) or impossible (m = 0). With the floor, a level seen in neither is neutral, one seen
    only among matches counts strongly for, one seen only among non-matches strongly against.
    """
    out = json.loads(json.dumps(model))
    for comparison in out["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                level["m_probability"] = max(level.get("m_probability") or 0.0, FLOOR)
                level["u_probability"] = max(level.get("u_probability") or 0.0, FLOOR)
    return out


def model_json(linker) -> dict:
    """The trained model as splink's settings JSON (comparisons, levels, m and u, blocking rules)."""
    return linker.misc.save_model_to_json()


def _rule_names(sql_rules: list[str]) -> dict[str, str]:
    names = {" ".join(v.split()): k for k, v in comparisons.BLOCKING_RULES.items()}
    return {str(i): names.get(" ".join(r.split()), f"rule {i}") for i, r in enumerate(sql_rules)}


def _scored(con: duckdb.DuckDBPyConnection, frame, threshold: float, rules: list[str]) -> Scored:
    table = frame.physical_name
    candidates = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    names = _rule_names(rules)
    mapping = "CASE CAST(match_key AS VARCHAR) " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in names.items()) + " END"
    pairs = con.execute(
        f"SELECT unique_id_l, unique_id_r, match_probability, {mapping} AS match_rule FROM {table} "
        f"WHERE match_probability >= ?",
        [threshold],
    ).to_arrow_table()
    return Scored(pairs, candidates)


def predict(con: duckdb.DuckDBPyConnection, linker, threshold: float) -> Scored:
    """Every candidate pair of the linker's input scored; those at or above ``threshold`` returned."""
    frame = linker.inference.predict()
    return _scored(con, frame, threshold, list(comparisons.BLOCKING_RULES.values()))


def between(con: duckdb.DuckDBPyConnection, model: dict, existing: str, new: str, tf: str | None = None) -> tuple:
    """(frame of new-vs-existing candidate pairs scored with a saved model, the linker): splink's
    ``predict_between``, whose cost follows the new records. Name term frequencies come from ``tf`` (a
    table of ``name_cp``, ``tf_name_cp`` over every lake record) when given, else from the existing ones."""
    linker = _linker(con, [existing], model, "dedupe_only")
    if tf is None:
        linker.table_management.compute_tf_table("name_cp")
    else:
        linker.table_management.register_term_frequency_lookup(linker._db_api.register(tf), "name_cp")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {new}_in AS SELECT * FROM {new} WHERE {LINKABLE}")
    fresh = linker._db_api.register(f"{new}_in")
    old = next(iter(linker._input_tables_dict.values()))
    return linker.inference.predict_between(fresh, old), linker


def predict_new(
    con: duckdb.DuckDBPyConnection, model: dict, existing: str, new: str, threshold: float, tf: str | None = None
) -> Scored:
    """New records scored against existing ones and against each other, with a saved model."""
    frame, linker = between(con, model, existing, new, tf=tf)
    within = linker.inference.predict_within(linker._db_api.register(f"{new}_in", table_name=f"{new}_within"))
    rules = list(comparisons.BLOCKING_RULES.values())
    a, b = _scored(con, frame, threshold, rules), _scored(con, within, threshold, rules)
    return Scored(pa.concat_tables([a.pairs, b.pairs]), a.candidates + b.candidates)


def clusters(con: duckdb.DuckDBPyConnection, ids: str, pairs: pa.Table) -> pa.Table:
    """Connected components (splink's) of the pairs over every record of ``ids`` (a table with
    ``unique_id``): ``unique_id`` -> ``cluster``; a record with no pair is a cluster of its own."""
    from splink.backends.duckdb import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    api = DuckDBAPI(connection=con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _nodes AS SELECT DISTINCT unique_id FROM {ids}")
    nodes = api.register("_nodes")
    edges = api.register(pairs)
    found = cluster_pairwise_predictions_at_threshold(nodes, edges, api, "unique_id")
    return con.execute(f"SELECT unique_id, cluster_id AS cluster FROM {found.physical_name}").to_arrow_table()

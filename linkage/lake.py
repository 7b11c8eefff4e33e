"""The linkage stage of the lake: read person records, link them, write the result in one transaction.

Tables (DuckLake, so every run is a snapshot and a past linkage can be read with ``--as-of``):

- ``shared.person_link``: one row per person-bearing record: ``dataset``, ``record_key`` (the record's
  primary key), ``person_key``, ``matched_by`` (``exact_id``: it carries the person's main ID number;
  ``probable``: joined by the model; ``alone``), ``match_probability`` (its strongest pair inside the
  person), ``match_rule`` (the blocking rule that found that pair), ``run_id``;
- ``shared.person_cluster``: one row per person: ``person_key``, ``records``, ``datasets``,
  ``weakest_probability``, ``run_id`` (the run that last changed it);
- ``shared.person_key_history``: merges and splits of keys, per run;
- ``linkage.person_index``: each ID number a person's records carry (cleaned, 18 digits) with their
  ``person_key``, in ID order, rebuilt by every run: how a look-up by ID finds the person's linked
  records in a few row groups instead of reading every link (personal, never shared);
- ``linkage.features`` (cleaned values the model compares; personal, never shared), ``linkage.models``
  (the trained model per full run, splink JSON: what explains a past linkage) and ``linkage.runs``.

A full run trains the model and clusters everything, mapping clusters onto the previous keys; an
incremental run (the default once a model exists) links only records that are new or changed since
the last run (their role values' fingerprint differs from the stored one), with the latest model,
against the stored records that share a blocking key with them and the other records of those
persons: past one scan of the lake's fingerprints (DuckDB, about a second per million records), its
cost follows the new records, not the lake.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from contracts.sql import literal
from linkage import comparisons, engine, features, keys
from linkage.sources import person_records_sql
from linkage.tables import TABLES

THRESHOLD = 0.9  # match probability at which two lake records are one person


@dataclass
class Run:
    run_id: str
    mode: str  # full or incremental
    records: int  # person records in the lake
    linked: int  # records linked by this run (all, or the new and changed ones)
    candidate_pairs: int
    pairs: int  # pairs at or above the threshold
    persons: int
    seconds: float
    model_run: str

    def as_dict(self) -> dict:
        return asdict(self)


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS shared")
    con.execute("CREATE SCHEMA IF NOT EXISTS linkage")
    for name, columns in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")


def _to_work(lake: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection, sql: str, name: str) -> None:
    """The rows of ``sql`` on the lake as temp table ``name`` of the workspace, through a Parquet file in a
    private temporary folder: exported as Arrow, the person records of a million people (3.3M rows) never
    came back (DuckDB 1.5 waited on its own tasks for good), while the same query copied out takes 5 s."""
    with tempfile.TemporaryDirectory(prefix="xgate-link-") as folder:
        path = literal(str(Path(folder) / f"{name}.parquet"))
        lake.execute(f"COPY ({sql}) TO {path} (FORMAT parquet)")
        work.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM read_parquet({path})")


def latest_model(con: duckdb.DuckDBPyConnection) -> tuple[str, dict] | None:
    """(run id, splink model JSON) of the newest trained model, or None."""
    row = con.execute("SELECT run_id, model FROM linkage.models ORDER BY trained_at DESC LIMIT 1").fetchone()
    return (row[0], json.loads(row[1])) if row else None


def _fingerprinted(con: duckdb.DuckDBPyConnection) -> str:
    """Every person record as roles, with ``fingerprint``: the md5 of its role values (what a change is)."""
    rows = person_records_sql(con)
    roles = [r[0] for r in con.execute(f"DESCRIBE {rows}").fetchall() if r[0] not in ("unique_id", "source_dataset")]
    return f"SELECT *, md5(CAST(struct_pack({', '.join(roles)}) AS VARCHAR)) AS fingerprint FROM ({rows})"


def _build(work: duckdb.DuckDBPyConnection, records: str, target: str) -> int:
    """Features of ``records`` (roles and fingerprint, on ``work``) as ``target``, fingerprint kept."""
    n = features.build(work, records, target)
    work.execute(
        f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT f.*, r.fingerprint FROM {target} f "
        f"JOIN {records} r USING (unique_id)"
    )
    return n


def link_lake(con: duckdb.DuckDBPyConnection, full: bool = False, threshold: float = THRESHOLD) -> Run:
    """Link the lake's person records (``con``: a writable lake connection); one transaction."""
    started = time.perf_counter()
    run_id = time.strftime("L%Y%m%dT%H%M%S") + uuid.uuid4().hex[:6]
    _ensure(con)
    work = engine.workspace()
    try:
        model = None if full else latest_model(con)
        if model is None:
            _to_work(con, work, _fingerprinted(con), "records")
            _build(work, "records", "current")
            run = _full(con, work, run_id, threshold)
        else:
            run = _incremental(con, work, run_id, model, threshold)
    finally:
        work.close()
    con.execute("DELETE FROM linkage.person_index")
    con.execute(
        """INSERT INTO linkage.person_index SELECT DISTINCT f.id18, l.person_key FROM shared.person_link l
        JOIN linkage.features f ON f.unique_id = l.dataset || ':' || l.record_key WHERE f.id18 IS NOT NULL
        ORDER BY 1"""
    )
    run.records = con.execute("SELECT count(*) FROM linkage.features").fetchone()[0]
    run.seconds = time.perf_counter() - started
    con.execute(
        "INSERT INTO linkage.runs VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            run.mode,
            run.seconds,
            run.records,
            run.linked,
            run.candidate_pairs,
            run.pairs,
            run.persons,
            run.model_run,
        ],
    )
    con.execute("COMMIT")
    return run


def _next_key(con: duckdb.DuckDBPyConnection) -> int:
    """The next person key to issue: after the largest ever issued."""
    top = con.execute(
        "SELECT greatest((SELECT max(person_key) FROM shared.person_link), "
        "(SELECT max(greatest(person_key, other_key)) FROM shared.person_key_history))"
    ).fetchone()[0]
    return (top or 0) + 1


def _previous(con: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection) -> int:
    """Copy the previous keys to the workspace (``_previous``); the next key to issue."""
    _to_work(
        con, work, "SELECT dataset || ':' || record_key AS unique_id, person_key FROM shared.person_link", "_previous"
    )
    return _next_key(con)


def _full(con: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection, run_id: str, threshold: float) -> Run:
    linker = engine.train(work, ["current"])
    scored = engine.predict(work, linker, threshold)
    model = engine.model_json(linker)
    work.register("_cc", engine.clusters(work, "current", scored.pairs))
    work.execute("CREATE OR REPLACE TEMP TABLE _clusters AS SELECT * FROM _cc")
    next_key = _previous(con, work)
    keys.assign(work, "_clusters", "_previous", next_key)
    links = _links(work, scored.pairs, run_id)
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "INSERT INTO linkage.models VALUES (?, now(), ?, ?)",
        [run_id, work.execute("SELECT count(*) FROM current").fetchone()[0], json.dumps(model)],
    )
    history = work.execute("SELECT event, person_key, other_key, records FROM _history").to_arrow_table()
    _write(con, links, history, run_id, replace=True)
    con.execute("DELETE FROM linkage.features")
    con.register("_features", work.execute("SELECT * FROM current").to_arrow_table())
    con.execute("INSERT INTO linkage.features BY NAME SELECT * FROM _features")
    con.unregister("_features")
    persons = work.execute("SELECT count(DISTINCT person_key) FROM _keys").fetchone()[0]
    return Run(run_id, "full", 0, links.num_rows, scored.candidates, scored.pairs.num_rows, persons, 0.0, run_id)


def _links(work: duckdb.DuckDBPyConnection, pairs: pa.Table, run_id: str) -> pa.Table:
    """person_link rows from ``_keys``, the scored pairs and the records' IDs."""
    work.register("_pairs", pairs)
    table = work.execute(
        """WITH k AS (SELECT k.unique_id, k.person_key, c.id18 FROM _keys k JOIN current c USING (unique_id)),
        anchor AS (SELECT person_key, id18 FROM k WHERE id18 IS NOT NULL GROUP BY person_key, id18
                   QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY count(*) DESC, id18) = 1),
        edges AS (SELECT unique_id_l AS a, unique_id_r AS b, match_probability, match_rule FROM _pairs
                  UNION ALL SELECT unique_id_r, unique_id_l, match_probability, match_rule FROM _pairs),
        best AS (SELECT e.a AS unique_id, e.match_probability, e.match_rule FROM edges e
                 JOIN k ka ON ka.unique_id = e.a JOIN k kb ON kb.unique_id = e.b AND kb.person_key = ka.person_key
                 QUALIFY row_number() OVER (PARTITION BY e.a ORDER BY e.match_probability DESC, e.match_rule) = 1)
        SELECT split_part(k.unique_id, ':', 1) AS dataset,
          substring(k.unique_id, strpos(k.unique_id, ':') + 1) AS record_key, k.person_key,
          CASE WHEN b.unique_id IS NULL THEN 'alone' WHEN k.id18 = a.id18 THEN 'exact_id' ELSE 'probable' END
            AS matched_by,
          b.match_probability, b.match_rule, ? AS run_id
        FROM k LEFT JOIN anchor a USING (person_key) LEFT JOIN best b USING (unique_id)""",
        [run_id],
    ).to_arrow_table()
    work.unregister("_pairs")
    return table


def _write(con: duckdb.DuckDBPyConnection, links: pa.Table, history: pa.Table, run_id: str, replace: bool) -> None:
    """Store links (all of them with ``replace``, else the given records' rows) and refresh the clusters
    they touch; inside the caller's transaction."""
    con.register("_links", links)
    con.register("_hist", history)
    if replace:
        con.execute("DELETE FROM shared.person_link")
    else:
        con.execute(
            "DELETE FROM shared.person_link WHERE dataset || ':' || record_key IN "
            "(SELECT dataset || ':' || record_key FROM _links)"
        )
    # in person order: a person's records (what a look-up reads by person key) sit in one row group
    con.execute("INSERT INTO shared.person_link BY NAME SELECT * FROM _links ORDER BY person_key")
    con.execute(
        "INSERT INTO shared.person_key_history SELECT ?, now(), event, person_key, other_key, records FROM _hist",
        [run_id],
    )
    touched = "SELECT person_key FROM _links UNION SELECT person_key FROM _hist UNION SELECT other_key FROM _hist"
    con.execute(f"DELETE FROM shared.person_cluster WHERE {'true' if replace else f'person_key IN ({touched})'}")
    con.execute(
        f"""INSERT INTO shared.person_cluster
        SELECT person_key, count(*), list(DISTINCT dataset ORDER BY dataset), min(match_probability),
          max(run_id) FILTER (WHERE person_key IN (SELECT person_key FROM _links)) FROM shared.person_link
        WHERE {"true" if replace else f"person_key IN ({touched})"} GROUP BY person_key"""
    )
    con.unregister("_links")
    con.unregister("_hist")


def neighbours(con: duckdb.DuckDBPyConnection, fresh: str) -> tuple[pa.Table, pa.Table]:
    """(stored features of the records that share a blocking key with ``fresh`` (a relation registered on
    ``con``) and of every other record of their persons, with ``person_key``; the name term frequencies
    over every stored record, for the names of both). Semi-joins on the lake: what comes back follows
    ``fresh``, not the lake. Stored records that ``fresh`` replaces are left out."""
    hits = " UNION ".join(
        f"SELECT l.unique_id FROM linkage.features l JOIN {fresh} r ON {rule}"
        for rule in comparisons.BLOCKING_RULES.values()
    )
    skip = f"WHERE f.unique_id NOT IN (SELECT unique_id FROM {fresh})"
    context = con.execute(
        f"""WITH hit AS ({hits}),
        link AS (SELECT dataset || ':' || record_key AS unique_id, person_key FROM shared.person_link),
        persons AS (SELECT DISTINCT person_key FROM link JOIN hit USING (unique_id)),
        ids AS (SELECT unique_id FROM hit UNION SELECT unique_id FROM link WHERE person_key IN (SELECT * FROM persons))
        SELECT f.* EXCLUDE (fingerprint), link.person_key FROM linkage.features f JOIN ids USING (unique_id)
        LEFT JOIN link USING (unique_id) {skip}"""
    ).to_arrow_table()
    con.register("_context", context)
    tf = con.execute(
        f"""SELECT name_cp, CAST(count(*) AS DOUBLE) / (SELECT count(name_cp) FROM linkage.features) AS tf_name_cp
        FROM linkage.features WHERE name_cp IN (SELECT name_cp FROM {fresh} UNION SELECT name_cp FROM _context)
        GROUP BY name_cp"""
    ).to_arrow_table()
    con.unregister("_context")
    return context, tf


def _incremental(con, work, run_id: str, model: tuple[str, dict], threshold: float) -> Run:
    """Link only new and changed records, against the stored records near them, with the latest model."""
    _to_work(
        con,
        work,
        f"""WITH r AS ({_fingerprinted(con)}) SELECT r.* FROM r LEFT JOIN linkage.features s USING (unique_id)
        WHERE s.fingerprint IS DISTINCT FROM r.fingerprint""",
        "records",
    )
    linked = _build(work, "records", "fresh")
    next_key = _next_key(con)
    if not linked:  # nothing new: the run is still recorded, in the transaction link_lake commits
        persons = con.execute("SELECT count(*) FROM shared.person_cluster").fetchone()[0]
        con.execute("BEGIN TRANSACTION")
        return Run(run_id, "incremental", 0, 0, 0, 0, persons, 0.0, model[0])
    con.register("_fresh", work.execute("SELECT * FROM fresh").to_arrow_table())
    context, tf = neighbours(con, "_fresh")
    work.register("_context", context)
    work.execute("CREATE OR REPLACE TEMP TABLE existing AS SELECT * EXCLUDE (person_key) FROM _context")
    work.execute("CREATE OR REPLACE TEMP TABLE _previous AS SELECT unique_id, person_key FROM _context")
    work.unregister("_context")
    work.register("_tf", tf)
    work.execute("CREATE OR REPLACE TEMP TABLE tf_name AS SELECT * FROM _tf")
    work.unregister("_tf")
    scored = engine.predict_new(work, model[1], "existing", "fresh", threshold, tf="tf_name")
    pairs = scored.pairs
    # components over the new records, an existing record standing for its person
    nodes = [r[0] for r in work.execute("SELECT unique_id FROM fresh ORDER BY unique_id").fetchall()]
    key_of = dict(work.execute("SELECT unique_id, person_key FROM _previous").fetchall())
    parent: dict[str, str] = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(pairs.column("unique_id_l").to_pylist(), pairs.column("unique_id_r").to_pylist()):
        a = f"key:{key_of[a]}" if key_of.get(a) is not None else a
        b = f"key:{key_of[b]}" if key_of.get(b) is not None else b
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for n in list(parent):
        groups.setdefault(find(n), []).append(n)
    assigned, history = {}, []
    for members in sorted(groups.values(), key=min):
        old = sorted(int(m[4:]) for m in members if m.startswith("key:"))
        key = old[0] if old else next_key
        next_key += 0 if old else 1
        history += [("merge", key, other, None) for other in old[1:]]
        for m in members:
            if not m.startswith("key:") and m not in key_of:
                assigned[m] = key
    merged = {other: key for _, key, other, _ in history}
    con.execute("BEGIN TRANSACTION")
    merges = pa.table(
        {
            "event": pa.array([h[0] for h in history], pa.string()),
            "person_key": pa.array([h[1] for h in history], pa.int64()),
            "other_key": pa.array([h[2] for h in history], pa.int64()),
            "records": pa.array([None] * len(history), pa.int64()),
        }
    )
    for other, key in merged.items():
        con.execute(
            "UPDATE shared.person_link SET person_key = ?, run_id = ? WHERE person_key = ?", [key, run_id, other]
        )
    work.register(
        "_assigned",
        pa.table(
            {
                "unique_id": pa.array(list(assigned), pa.string()),
                "person_key": pa.array(list(assigned.values()), pa.int64()),
            }
        ),
    )
    work.execute(
        "CREATE OR REPLACE TEMP TABLE _keys AS SELECT * FROM _assigned UNION ALL "
        "SELECT unique_id, person_key FROM _previous WHERE person_key IS NOT NULL"
    )
    work.execute(
        "UPDATE _keys SET person_key = m.key FROM (SELECT unnest(?::BIGINT[]) AS other, unnest(?::BIGINT[]) AS key) m "
        "WHERE _keys.person_key = m.other",
        [list(merged), list(merged.values())],
    )
    work.execute("CREATE OR REPLACE TEMP TABLE current AS SELECT * FROM fresh UNION ALL BY NAME SELECT * FROM existing")
    links = _links(work, pairs, run_id)
    work.register("_new_links", links)
    fresh_links = work.execute(
        "SELECT * FROM _new_links WHERE dataset || ':' || record_key IN (SELECT unique_id FROM fresh)"
    ).to_arrow_table()
    _write(con, fresh_links, merges, run_id, replace=False)
    con.execute("DELETE FROM linkage.features WHERE unique_id IN (SELECT unique_id FROM _fresh)")
    con.execute("INSERT INTO linkage.features BY NAME SELECT * FROM _fresh")
    con.unregister("_fresh")
    persons = con.execute("SELECT count(*) FROM shared.person_cluster").fetchone()[0]
    return Run(run_id, "incremental", 0, linked, scored.candidates, pairs.num_rows, persons, 0.0, model[0])

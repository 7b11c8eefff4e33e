"""Precision, recall and F1 of a linkage against the sandbox's ground truth (``truth.parquet`` and the
manifest's planted pairs). Counted over record pairs, exactly: a pair is predicted when both records
carry one ``person_key``, true when both belong to one sandbox person.

- per department pair: every pair of records from the two departments (civil, telecom, health, housing);
- ``all records``: every pair of records, whatever their departments;
- per planted kind: every pair of one of the kind's noisy records (the first the manifest names) and
  another record;
- ``exact_id``: pairs of records with one usable ID number (after cleaning), as an ID join would pair them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# kinds whose records differ from the person's others by one character (name or ID digit)
ONE_CHARACTER = ("link_name_typo", "link_id_typo", "name_one_char_diff")
PLANTED = (
    "link_missing_id",
    "link_homophone_name",
    "link_name_typo",
    "link_dob_swap",
    "link_id_swapped",
    "link_id_typo",
    "link_legacy_id",
    "link_phone_digit",
    "link_two_addresses",
    "name_one_char_diff",
)


def _prf(both: float, predicted: float, true: float) -> dict:
    p = both / predicted if predicted else 1.0
    r = both / true if true else 1.0
    return {"pairs": int(true), "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def scores(con: duckdb.DuckDBPyConnection, links: str, truth: Path, manifest: dict) -> dict[str, dict]:
    """Scores of ``links`` (a relation with ``unique_id``, ``person_key``, ``id18``) against the sandbox."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _scored AS
        SELECT l.unique_id, split_part(l.unique_id, '.', 1) AS department, l.person_key, l.id18, t.person
        FROM {links} l
        JOIN (SELECT dataset || ':' || key AS unique_id, person FROM read_parquet(?)) t USING (unique_id)""",
        [str(truth)],
    )
    out: dict[str, dict] = {}
    for a, b, both, predicted, true in con.execute(
        """WITH cell AS (SELECT department, person_key, person, count(*) AS n FROM _scored GROUP BY ALL),
        k AS (SELECT department, person_key, sum(n) AS n FROM cell GROUP BY ALL),
        t AS (SELECT department, person, sum(n) AS n FROM cell GROUP BY ALL),
        d AS (SELECT DISTINCT department FROM cell),
        pairs(x, y) AS (SELECT a.department, b.department FROM d a, d b WHERE a.department <= b.department)
        SELECT x, y,
          (SELECT sum(CASE WHEN x = y THEN c1.n * (c1.n - 1) / 2 ELSE c1.n * c2.n END) FROM cell c1 JOIN cell c2
             ON c1.person_key = c2.person_key AND c1.person = c2.person AND c1.department = x AND c2.department = y),
          (SELECT sum(CASE WHEN x = y THEN k1.n * (k1.n - 1) / 2 ELSE k1.n * k2.n END) FROM k k1 JOIN k k2
             ON k1.person_key = k2.person_key AND k1.department = x AND k2.department = y),
          (SELECT sum(CASE WHEN x = y THEN t1.n * (t1.n - 1) / 2 ELSE t1.n * t2.n END) FROM t t1 JOIN t t2
             ON t1.person = t2.person AND t1.department = x AND t2.department = y)
        FROM pairs ORDER BY 1, 2"""
    ).fetchall():
        out[f"{a} ~ {b}"] = _prf(both or 0, predicted or 0, true or 0)
    both, predicted, true = con.execute(
        """WITH cell AS (SELECT person_key, person, count(*) AS n FROM _scored GROUP BY ALL),
        k AS (SELECT person_key, sum(n) AS n FROM cell GROUP BY ALL),
        t AS (SELECT person, sum(n) AS n FROM cell GROUP BY ALL)
        SELECT (SELECT sum(n * (n - 1) / 2) FROM cell), (SELECT sum(n * (n - 1) / 2) FROM k),
          (SELECT sum(n * (n - 1) / 2) FROM t)"""
    ).fetchone()
    out["all records"] = _prf(both or 0, predicted or 0, true or 0)
    both, predicted, true = con.execute(
        """WITH g AS (SELECT id18, person_key, person, count(*) AS n FROM _scored WHERE id18 IS NOT NULL GROUP BY ALL),
        pk AS (SELECT id18, person_key, sum(n) AS n FROM g GROUP BY ALL),
        tp AS (SELECT id18, person, sum(n) AS n FROM g GROUP BY ALL)
        SELECT (SELECT sum(n * (n - 1) / 2) FROM g), (SELECT sum(n * (n - 1) / 2) FROM pk),
          (SELECT sum(n * (n - 1) / 2) FROM tp)"""
    ).fetchone()
    out["exact_id"] = _prf(both or 0, predicted or 0, true or 0)
    planted: dict[str, list[str]] = {}
    for entry in manifest["anomalies"]:
        if entry["kind"] in PLANTED:
            first = entry["records"][0]
            planted.setdefault(entry["kind"], []).append(f"{first['dataset']}:{first['key']}")
    for kind, records in sorted(planted.items()):
        out[kind] = _kind(con, records)
    for name, kinds in (("one_character", ONE_CHARACTER), ("all_planted", PLANTED)):
        out[name] = _kind(con, [r for k in kinds for r in planted.get(k, [])])
    return out


def _kind(con: duckdb.DuckDBPyConnection, records: list[str]) -> dict:
    """Over every pair of a planted (noisy) record and another record: true when both are one person,
    predicted when both carry one person_key (counted from group sizes, so it costs one pass)."""
    import pyarrow as pa

    con.register("_planted", pa.table({"unique_id": pa.array(sorted(set(records)), pa.string())}))
    both, predicted, true = con.execute(
        """WITH k AS (SELECT person_key, count(*) AS n FROM _scored GROUP BY ALL),
        t AS (SELECT person, count(*) AS n FROM _scored GROUP BY ALL),
        c AS (SELECT person_key, person, count(*) AS n FROM _scored GROUP BY ALL)
        SELECT sum(c.n - 1), sum(k.n - 1), sum(t.n - 1) FROM _planted JOIN _scored USING (unique_id)
        JOIN k USING (person_key) JOIN t USING (person) JOIN c USING (person_key, person)"""
    ).fetchone()
    con.unregister("_planted")
    return _prf(both or 0, predicted or 0, true or 0)


def lake_scores(con: duckdb.DuckDBPyConnection, truth: Path, manifest: dict) -> dict[str, dict]:
    """:func:`scores` of the lake's ``shared.person_link`` (``con``: a lake connection)."""
    con.execute(
        """CREATE OR REPLACE TEMP VIEW _linked AS SELECT l.dataset || ':' || l.record_key AS unique_id,
        l.person_key, f.id18 FROM shared.person_link l
        LEFT JOIN linkage.features f ON f.unique_id = l.dataset || ':' || l.record_key"""
    )
    return scores(con, "_linked", truth, manifest)

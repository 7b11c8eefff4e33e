"""Collide an outside person list (数据碰撞): a file against another file, or against the lake's people.

A list is a CSV (UTF-8, GBK or GB18030), XLSX or Parquet file read the way ``xgate validate`` reads an
export; ``--map role=column`` names which column plays which role (:data:`linkage.features.ROLES`).
Two files are linked with a model trained on them (splink, ``link_only``), each candidate pair coming out
with both keys, the match probability and the reason (the comparison level each field reached). A file
against the lake is matched on what its rows state exactly (:data:`ANCHORS`), each pair with the person
the lake's linkage found: against data the reader may not see in full, a score would be an oracle.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from linkage import engine, features
from xgate.errors import ConfigError, XgateError

NAME_ROLES = ("name", "family_name", "given_name")


def parse_map(text: str) -> dict[str, str]:
    """``name=姓名,id_number=身份证号`` -> {role: column}; an unknown role is an error."""
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, column = part.partition("=")
        role, column = role.strip(), column.strip()
        if not sep or not column:
            raise ConfigError(f"--map: {part!r} is not role=column")
        if role not in features.ROLES:
            raise ConfigError(f"--map: unknown role {role!r}; roles: {', '.join(features.ROLES)}")
        mapping[role] = column
    if not any(r in mapping for r in (*NAME_ROLES, "id_number")):
        raise ConfigError("--map: no usable column: map a name (or family_name and given_name) or id_number")
    return mapping


def read_list(path: Path, mapping: dict[str, str], key: str | None, label: str) -> pa.Table:
    """The list as ``unique_id`` (the key column), ``source_dataset`` (``label``) and role columns."""
    from connectors.files import SPREADSHEETS, load
    from contracts.cli import read_local

    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".csv", *SPREADSHEETS):  # decoded as the department file drops are
            sheet = load(path)
            cells = [(r + [""] * len(sheet.header))[: len(sheet.header)] for _, r in sheet.rows]
            table = pa.table({h: pa.array([c[i] for c in cells], pa.string()) for i, h in enumerate(sheet.header)})
        else:
            table = read_local(path)
    except XgateError as exc:
        raise ConfigError(str(exc)) from None
    columns = table.column_names
    missing = [c for c in mapping.values() if c not in columns]
    if missing:
        raise ConfigError(f"{path.name}: mapped column(s) not in the file: {', '.join(missing)}")
    key = key or columns[0]
    if key not in columns:
        raise ConfigError(f"{path.name}: --key column {key!r} not in the file")
    out = {"unique_id": table.column(key).cast(pa.string()), "source_dataset": pa.array([label] * table.num_rows)}
    for role, column in mapping.items():
        out[role] = table.column(column).cast(pa.string())
    return pa.table(out)


def _reasons(con: duckdb.DuckDBPyConnection, frame, model: dict) -> str:
    """SQL of the reason text, 'field: level' per compared field, read back from each field's match
    weight (``mw_<field>``: splink keeps the weight, not the level; each level's weight is log2 m/u)."""
    import math

    have = {r[0] for r in con.execute(f"DESCRIBE {frame.physical_name}").fetchall()}
    parts = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        if f"mw_{name}" not in have:
            continue
        cases = " ".join(
            f"WHEN abs(mw_{name} - ({math.log2(lv['m_probability'] / lv['u_probability'])!r})) < 1e-9 "
            f"THEN '{name}: {lv.get('label_for_charts', '').replace(chr(39), '')}'"
            for lv in comparison["comparison_levels"]
            if not lv.get("is_null_level") and lv.get("m_probability") and lv.get("u_probability")
        )
        parts.append(f"CASE WHEN mw_{name} <> 0 THEN CASE {cases} END END")
    return f"concat_ws('; ', {', '.join(parts)})" if parts else "''"


def _pairs(con: duckdb.DuckDBPyConnection, frame, model: dict, threshold: float) -> pa.Table:
    return con.execute(
        f"SELECT unique_id_l AS key_l, unique_id_r AS key_r, match_probability, "
        f"{_reasons(con, frame, model)} AS reason "
        f"FROM {frame.physical_name} WHERE match_probability >= ? ORDER BY match_probability DESC, key_l, key_r",
        [threshold],
    ).to_arrow_table()


def link_files(listing: pa.Table, against: pa.Table, threshold: float) -> pa.Table:
    """Pairs between two lists (``key_l`` from ``listing``, ``key_r`` from ``against``), no lake involved."""
    con = engine.workspace()
    try:
        for name, table in (("list_a", listing), ("list_b", against)):
            con.register("_in", table)
            features.build(con, "_in", name)
            con.unregister("_in")
        linker = engine.train(con, ["list_a", "list_b"], link_type="link_only", explain=True)
        frame = linker.inference.predict()
        pairs = _pairs(con, frame, engine.model_json(linker), threshold)
    finally:
        con.close()
    return _oriented(pairs, listing)


def _oriented(pairs: pa.Table, listing: pa.Table) -> pa.Table:
    """Splink orders a pair's records its own way; put the list's key on the left."""
    import pyarrow.compute as pc

    left = pc.is_in(pairs.column("key_l"), value_set=listing.column("unique_id"))
    key_l = pc.if_else(left, pairs.column("key_l"), pairs.column("key_r"))
    key_r = pc.if_else(left, pairs.column("key_r"), pairs.column("key_l"))
    return pairs.set_column(0, "key_l", key_l).set_column(1, "key_r", key_r)


def list_features(listing: pa.Table) -> pa.Table:
    """The list's rows as the linker reads them (:func:`linkage.features.build`): what the access layer's guard
    counts and what is matched are one and the same."""
    work = engine.workspace()
    try:
        work.register("_in", listing)
        features.build(work, "_in", "outside")
        work.unregister("_in")
        return work.execute("SELECT * FROM outside").to_arrow_table()
    finally:
        work.close()


# Against the lake, a row is matched on what it states exactly, and on nothing else: its ID; for a row without
# one, its name (as pinyin: homophones agree) with its birth date; its phone; its other ID. Each is what the
# access layer's guard counts (access.probes). Nothing else the row holds moves the outcome: a model's score
# that a guessed birth date or name could raise past a threshold, or a near miss (an ID one digit off) that it
# would still link, would tell which guess is what a mask hides, one row at a time.
ANCHORS = {
    "id_number": ("o.id18 = f.id18", "o.id18 IS NOT NULL"),
    "name and birth date": (
        "o.name_py = f.name_py AND o.birth_date = f.birth_date",
        "o.id18 IS NULL AND o.name_py IS NOT NULL AND o.birth_date IS NOT NULL",
    ),
    "phone": ("o.phone = f.phone", "o.phone IS NOT NULL"),
    "other_id": ("o.other_id = f.other_id", "o.other_id IS NOT NULL"),
}


def link_list_against_lake(con: duckdb.DuckDBPyConnection, outside: pa.Table) -> pa.Table:
    """Pairs between a list (its :func:`list_features`) and the lake's person records: ``key_l`` (the list's
    key), ``key_r`` (``dataset:record key``), ``person_key`` (the person linkage found), ``match_probability``
    (1.0: an exact match) and ``reason`` (the :data:`ANCHORS` that agree, nothing else).

    ``con`` must read ``linkage.features`` and ``shared.person_link`` of the lake (an investigator's read: the
    caller routes it through the access layer and records it).
    """
    if not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'linkage' AND table_name = 'features'"
    ).fetchone()[0]:
        raise ConfigError("the lake's people have not been linked yet: run 'xgate link' first")
    found = " UNION ALL ".join(
        f"SELECT o.unique_id AS key_l, f.unique_id AS key_r, '{name}: exact' AS reason FROM _outside o "
        f"JOIN linkage.features f ON {on} WHERE {given}"
        for name, (on, given) in ANCHORS.items()
    )
    con.register("_outside", outside)
    try:
        return con.execute(
            f"""WITH found AS ({found})
            SELECT p.key_l, p.key_r, l.person_key, 1.0 AS match_probability,
              string_agg(DISTINCT p.reason, '; ' ORDER BY p.reason) AS reason
            FROM found p LEFT JOIN shared.person_link l ON l.dataset || ':' || l.record_key = p.key_r
            GROUP BY ALL ORDER BY p.key_l, p.key_r"""
        ).to_arrow_table()
    finally:
        con.unregister("_outside")

"""Collide an outside person list (数据碰撞): a file against another file, or against the lake's people.

A list is a CSV (UTF-8, GBK or GB18030), XLSX or Parquet file read the way ``xgate validate`` reads an
export; ``--map role=column`` names which column plays which role (:data:`linkage.features.ROLES`).
Two files are linked with a model trained on them (splink, ``link_only``); a file against the lake is
scored with the lake's latest trained model against the stored records that share a blocking key with
it (and the other records of their persons), so past one scan of the stored features it costs what the
list costs.
Each candidate pair comes out with both keys, the match probability and the reason (the comparison
level each field reached).
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


# Against the lake, a pair is kept only where the list states something of the record exactly: the ID; for a
# row without one, the name (as pinyin: homophones agree) with the birth date; the phone; the other ID. Each
# is what the access layer's guard counts (access.probes). A near miss (an ID one digit off, a name one
# character off) that the model would still link tells whether a guessed birth date is the one a mask
# hides: tried date by date, with a new near miss each time, it unmasks an ID without ever repeating what
# the guard counts. A row with an ID is matched on its ID, not on the name and date it also holds.
STATED_EXACTLY = """o.id18 = l.id18 OR (o.id18 IS NULL AND o.name_py = l.name_py AND o.birth_date = l.birth_date)
  OR o.phone = l.phone OR o.other_id = l.other_id"""


def link_list_against_lake(con: duckdb.DuckDBPyConnection, outside: pa.Table, threshold: float) -> pa.Table:
    """Pairs between a list (its :func:`list_features`) and the lake's people: ``key_l`` (the list's key),
    ``key_r`` (``dataset:record key``), ``person_key``, ``match_probability``, ``reason``; only pairs where the
    list states something of the record exactly (:data:`STATED_EXACTLY`).

    ``con`` must read ``linkage.features``, ``linkage.models`` and ``shared.person_link`` of the lake (an
    investigator's read: the caller routes it through the access layer and records it).
    """
    from linkage.lake import latest_model, neighbours

    found = latest_model(con)
    if found is None:
        raise ConfigError("the lake has no linkage model yet: run 'xgate link' first")
    con.register("_outside", outside)
    try:
        context, tf = neighbours(con, "_outside", exclude=False)
    finally:
        con.unregister("_outside")
    work = engine.workspace()
    try:
        for name, table in (("outside", outside), ("people", context.drop_columns(["person_key"])), ("tf_name", tf)):
            work.register("_arrow", table)
            work.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _arrow")
            work.unregister("_arrow")
        frame, _ = engine.between(work, found[1], "people", "outside", explain=True, tf="tf_name")
        pairs = _oriented(_pairs(work, frame, found[1], threshold), outside)
    finally:
        work.close()
    scratch = duckdb.connect()
    for name, table in (("p", pairs), ("o", outside), ("l", context)):
        scratch.register(name, table)
    return scratch.execute(
        "SELECT p.key_l, p.key_r, l.person_key, p.match_probability, p.reason FROM p "
        f"JOIN o ON o.unique_id = p.key_l JOIN l ON l.unique_id = p.key_r WHERE {STATED_EXACTLY} "
        "ORDER BY p.match_probability DESC, p.key_l, p.key_r"
    ).to_arrow_table()

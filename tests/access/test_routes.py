"""Every route an attacker tried to what an investigator may not see: refused, or masked data only; audited.

Grouped as the attacks came: the lake's files and catalog, sensitive fields without a grant, hidden
characters of masked values (unmasking tricks and oracles), not-shared fields, and database errors
that would quote a value.
"""

from __future__ import annotations

import pytest

from access import audit, lookups
from access.engine import QueryFailed
from access.users import Refused
from contracts.masking import HIDDEN
from tests.access.conftest import CASE, ENGINEER, INVESTIGATOR

VIEW = "shared.dead_with_active_phone"


def _query(read, sql: str):
    [(columns, rows)] = read(lookups.query(INVESTIGATOR, sql, CASE, "attack")).sections.values()
    return columns, rows


def _cells(rows) -> set[str]:
    return {str(v) for row in rows for v in row}


# route -> SQL that tried to read the lake's files, catalog or internals; each is refused before it runs
FILES_AND_CATALOG = {
    "cte shadowing a file": 'WITH q AS (SELECT 1 AS a) SELECT * FROM (WITH "{data}/x.parquet" AS (SELECT 1 AS a) '
    'SELECT a FROM q) s, "{data}/x.parquet"',
    "cte named like a raw table": "SELECT * FROM (WITH health_patients AS (SELECT 1 AS a) SELECT a FROM "
    "health_patients) s, raw.health_patients",
    "cte from another scope": "SELECT (WITH t AS (SELECT 1 AS a) SELECT a FROM t) AS x FROM t",
    "file as table": "SELECT * FROM '{data}/x.parquet'",
    "quoted file as table": 'SELECT * FROM "{data}/x.parquet"',
    "read_parquet": "SELECT * FROM read_parquet('{data}/**/*.parquet')",
    "read_parquet in a subquery": "SELECT * FROM (SELECT * FROM READ_PARQUET('{data}/**/*.parquet'))",
    "glob": "SELECT * FROM glob('{data}/**')",
    "query_table": "SELECT * FROM query_table('raw.health_patients')",
    "query()": "SELECT * FROM query('SELECT * FROM raw.health_patients')",
    "raw table": "SELECT deceased_at FROM raw.health_patients",
    "quarantine": "SELECT * FROM quarantine.rows",
    "catalog prefix": "SELECT deceased_at FROM lake.raw.health_patients",
    "other catalog": "SELECT * FROM __ducklake_metadata_lake.ducklake_table",
    "duckdb_databases": "SELECT * FROM duckdb_databases()",
    "duckdb_databases as value": "SELECT (SELECT path FROM duckdb_databases() LIMIT 1) AS p",
    "pg_tables": "SELECT * FROM pg_catalog.pg_tables",
    "information schema": "SELECT * FROM information_schema.columns",
    "duckdb_settings": "SELECT * FROM duckdb_settings()",
    "getenv": "SELECT getenv('HOME') AS h",
    "current_setting": "SELECT current_setting('allowed_directories') AS s",
    "read_text": "SELECT read_text('/etc/passwd') AS t",
    "attach": "ATTACH '{data}/../catalog.ducklake' AS other",
    "copy": f"COPY (SELECT * FROM {VIEW}) TO '/tmp/out.csv'",
    "pragma": "PRAGMA database_list",
    "set": "SET enable_external_access = true",
    "load": "LOAD httpfs",
    "second statement": f"SELECT 1 AS one; SELECT deceased_at FROM {VIEW}",
    "second statement after a comment": "SELECT 1 AS one /* ; */; ATTACH 'x.db' AS x",
    "whole row": f"SELECT to_json(d) AS j FROM {VIEW} d",
    "columns()": f"SELECT COLUMNS('.*') FROM {VIEW}",
    "unnest a table function": "SELECT * FROM unnest([1, 2])",
    "range as table": "SELECT * FROM range(10)",
    "reserved name": "SELECT __xg_sid FROM shared.phone",
    "prepared parameter": "SELECT $1 AS x",
}


@pytest.mark.parametrize("route", FILES_AND_CATALOG)
def test_files_catalogs_and_internals_are_refused(access_settings, read, route) -> None:
    sql = FILES_AND_CATALOG[route].replace("{data}", str(access_settings.warehouse_dir / "data"))
    with pytest.raises(Refused):
        _query(read, sql)
    [record] = audit.records(access_settings)
    assert (
        record["outcome"] == "refused"
        and record["query"] == audit.redact(access_settings, sql)
        and record["case"] == CASE
    )


# route -> SQL reaching deceased_at (sensitive, health.patients) as an engineer, who holds no grant: it
# holds [hidden] on every row, so whatever is done to it shows that, a filter on it finds nothing. (For
# investigators the views that list the dead need the grant whole.)
RAW = "raw.health_patients"
SENSITIVE = {
    "column by name": (f"SELECT deceased_at FROM {RAW}", "hidden"),
    "select star": (f"SELECT * FROM {RAW}", "hidden"),
    "cte": (f"WITH d AS (SELECT deceased_at AS x FROM {RAW}) SELECT x FROM d", "hidden"),
    "subquery": (f"SELECT x FROM (SELECT deceased_at AS x FROM {RAW}) s", "hidden"),
    "scalar subquery": (f"SELECT (SELECT max(deceased_at) FROM {RAW}) AS m", "hidden"),
    "function": (f"SELECT upper(CAST(deceased_at AS VARCHAR)) AS u FROM {RAW}", "hidden"),
    "union behind a harmless column": (
        f"SELECT carrier FROM raw.telecom_subscribers UNION ALL SELECT CAST(deceased_at AS VARCHAR) FROM {RAW}",
        "no dates",
    ),
    "filter": (f"SELECT patient_id FROM {RAW} WHERE CAST(deceased_at AS VARCHAR) LIKE '2%'", "empty"),
    "struct": (f"SELECT struct_pack(x := deceased_at) AS s FROM {RAW}", "hidden"),
    "aggregate into a list": (f"SELECT list(deceased_at) AS l FROM {RAW}", "hidden"),
    "lateral": (f"SELECT patient_id, z FROM {RAW}, LATERAL (SELECT deceased_at AS z) t", "hidden"),
    "count of non-null": (f"SELECT count(deceased_at) = count(*) AS same FROM {RAW}", "constant"),
}


@pytest.mark.parametrize("route", SENSITIVE)
def test_sensitive_field_without_grant_never_shows(access_settings, read, facts, route) -> None:
    sql, expected = SENSITIVE[route]
    [(columns, rows)] = read(lookups.engineer_sql(ENGINEER, sql)).sections.values()
    assert not _cells(rows) & facts["deaths"], "a death date left the access layer"
    at = columns.index("deceased_at") if "deceased_at" in columns else -1
    if expected == "hidden":  # the one constant every row holds, whatever was done to it
        assert rows and all(HIDDEN in str(row[at]).lower() for row in rows), rows[:3]
    elif expected == "constant":  # every row holds a value: counting tells nothing of who has one
        assert rows == [(True,)]
    elif expected == "empty":
        assert rows == []  # the filter saw NULL, not the dates
    started, done = audit.records(access_settings)
    assert done["outcome"] == "allowed" and "health.patients" in started["datasets"]


def _hidden_digits(facts) -> tuple[str, str]:
    return facts["msisdn"][3:7], facts["dead_id"][6:14]


# route -> an expression over a masked value that tried to bring back its hidden part
UNMASKING = {
    "substring": "substring(msisdn, 4, 4) || 'zzzzz'",
    "one character": "substring(id_number, 7, 1)",
    "each character": "concat(substring(id_number, 7, 1), substring(id_number, 8, 1), substring(id_number, 9, 1))",
    "arithmetic": "CAST(substring(msisdn, 4, 4) AS INTEGER) + 1",
    "try arithmetic": "TRY_CAST(substring(msisdn, 4, 4) AS INTEGER) * 2",
    "hash": "md5(msisdn)",
    "sha": "sha256(id_number)",
    "hash()": "hash(msisdn)",
    "reverse": "reverse(msisdn)",
    "replace the mask": "replace(msisdn, '*', '')",
    "regexp": "regexp_extract(id_number, '[0-9]{6}([0-9]{8})', 1)",
    "ascii": "ascii(substring(msisdn, 5, 1))",
    "unicode": "unicode(substring(id_number, 9, 1))",
    "length": "length(name)",
    "name characters": "right(name, 1)",
    "date parts": "substring(activated_at, 6, 2)",
}


@pytest.mark.parametrize("route", UNMASKING)
def test_unmasking_tricks_see_only_the_mask(access_settings, read, facts, route) -> None:
    expression = UNMASKING[route]
    sql = f"SELECT {expression} AS x FROM shared.phone WHERE msisdn LIKE '{facts['msisdn'][:3]}%' ORDER BY x"
    try:
        _, rows = _query(read, sql)
    except QueryFailed:  # casting '****' to a number fails; the failure says nothing of the value
        rows = []
    hidden_phone, hidden_birth = _hidden_digits(facts)
    text = " ".join(_cells(rows))
    assert hidden_birth not in text and f"{hidden_phone}zzzzz" not in text
    assert not _cells(rows) & facts["phones"] and not _cells(rows) & facts["ids"]
    masked_values = {"*", "****", "****zzzzz", "None", ""}
    if route in ("substring", "one character", "each character", "regexp", "date parts"):
        assert _cells(rows) <= masked_values | {"**", "***"}, sorted(_cells(rows))[:5]


ORACLES = {
    "where on a hidden digit": "SELECT count(*) AS n FROM shared.phone WHERE substring(msisdn, 4, 1) = '{d}'",
    "like on the middle": "SELECT count(*) AS n FROM shared.phone WHERE msisdn LIKE '___{d}%'",
    "order by the value": "SELECT subscriber_id FROM shared.phone ORDER BY msisdn, subscriber_id LIMIT 5",
    "group by the hidden part": "SELECT substring(id_number, 7, 4) AS y, count(*) AS n FROM shared.person GROUP BY y",
    "join on a hidden value": "SELECT count(*) AS n FROM shared.phone a JOIN shared.person b "
    "ON substring(a.id_number, 7, 8) = substring(b.id_number, 7, 8)",
}


@pytest.mark.parametrize("route", ORACLES)
def test_oracles_by_filter_sort_and_join_learn_nothing(access_settings, read, facts, route) -> None:
    results = set()
    for digit in "0123456789" if "{d}" in ORACLES[route] else "0":
        _, rows = _query(read, ORACLES[route].replace("{d}", digit))
        results.add(tuple(rows))
    if "{d}" in ORACLES[route]:
        assert results == {((0,),)}  # every guess at a hidden digit finds nothing: the digit is not there
    if route == "group by the hidden part":
        [(rows)] = results
        assert {r[0] for r in rows} <= {"****", "**", "***", None}
    if route == "order by the value":  # sorted by the mask: the order says nothing the mask does not
        [(rows)] = results
        assert len(rows) == 5


NOT_SHARED = {
    "column by name": "SELECT carrier FROM shared.phone",
    "cte": "WITH p AS (SELECT carrier AS c FROM shared.phone) SELECT c FROM p",
    "subquery": "SELECT c FROM (SELECT carrier AS c FROM shared.phone) s",
    "function": "SELECT lower(carrier) AS c FROM shared.phone",
    "filter": "SELECT msisdn FROM shared.phone WHERE carrier = '中国移动'",
    "quoted": 'SELECT "CARRIER" FROM "SHARED"."PHONE"',
}


@pytest.mark.parametrize("route", NOT_SHARED)
def test_not_shared_field_never_leaves(access_settings, read, carrier_not_shared, route) -> None:
    with pytest.raises(Refused):
        _query(read, NOT_SHARED[route])
    [record] = audit.records(access_settings)
    assert record["outcome"] == "refused" and record["query"] == audit.redact(access_settings, NOT_SHARED[route])


def test_select_star_leaves_a_not_shared_field_out(access_settings, read, facts, carrier_not_shared) -> None:
    columns, rows = _query(read, "SELECT * REPLACE (carrier AS carrier) FROM shared.phone")
    lookup = read(lookups.phone(INVESTIGATOR, facts["msisdn"], CASE, "p")).sections
    assert "carrier" not in columns and "msisdn" in columns and rows
    assert "carrier" not in lookup["phone"][0]
    assert not _cells(rows) & facts["carriers"]


ERRORS = {
    "error()": "SELECT error(msisdn) AS e FROM shared.phone",
    "failed cast of a phone": "SELECT CAST(msisdn AS INTEGER) AS n FROM shared.phone",
    "failed cast of an id": "SELECT CAST(id_number AS BIGINT) AS n FROM shared.person",
    "failed cast of a name": "SELECT CAST(name AS DATE) AS d FROM shared.person",
    "failed date parse": "SELECT strptime(name, '%Y') AS d FROM shared.phone",
}


@pytest.mark.parametrize("route", ERRORS)
def test_errors_never_quote_a_value(access_settings, read, facts, route) -> None:
    with pytest.raises((Refused, QueryFailed)) as raised:
        _query(read, ERRORS[route])
    message = str(raised.value)
    assert facts["msisdn"] not in message and facts["name"] not in message and "*" not in message
    log = audit.log_path(access_settings).read_text()
    assert facts["msisdn"] not in log and facts["name"] not in log
    engineers = (access_settings.data_dir / "logs" / "access.log").read_text() if "E-" in message else ""
    assert facts["msisdn"] not in engineers and facts["name"] not in engineers
    if raised.type is QueryFailed:
        assert message.split("(error ")[1][:10] in engineers  # the engineers find the detail by its id

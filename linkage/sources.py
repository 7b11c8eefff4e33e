"""Which lake records bear a person, and how their columns map to the linkage roles.

Landed rows come from ``raw.<dataset>``; a record the contract quarantined (an ID with a wrong check
character, two digits swapped) is still a record the department holds, so its latest quarantined
version is linked too when no version of it landed. That is where exact joins fail and linkage pays.
Unique ids are ``<dataset>:<primary key>``, so a ``person_link`` row names its record exactly.
"""

from __future__ import annotations

import duckdb

# dataset -> (primary key, {role: column}, row filter)
PERSON_RECORDS: dict[str, tuple[str, dict[str, str], str]] = {
    "civil.residents": (
        "resident_id",
        {
            "name": "name",
            "id_number": "id_number",
            "birth_date": "birth_date",
            "sex": "sex",
            "address_code": "address_code",
            "address": "address",
        },
        "",
    ),
    "civil.deaths": ("death_id", {"name": "name", "id_number": "id_number"}, ""),
    "telecom.subscribers": ("subscriber_id", {"name": "name", "id_number": "id_number", "phone": "msisdn"}, ""),
    "health.patients": (
        "patient_id",
        {"name": "name", "id_number": "id_number", "birth_date": "birth_date", "sex": "gender"},
        "",
    ),
    "housing.properties": (
        "property_id",
        {"name": "owner_name", "id_number": "owner_id", "address_code": "address_code", "address": "address"},
        "owner_type = '个人'",
    ),
    "housing.rentals": (
        "rental_id",
        {
            "name": "tenant_name",
            "id_number": "tenant_id_number",
            "phone": "tenant_phone",
            "address_code": "address_code",
            "address": "address",
        },
        "",
    ),
    "housing.rental_filings": (
        "filing_no",
        {
            "name": "tenant_name",
            "id_number": "tenant_id_number",
            "phone": "tenant_phone",
            "address_code": "address_code",
            "address": "address",
        },
        "",
    ),
}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall()
    }


def person_records_sql(con: duckdb.DuckDBPyConnection) -> str:
    """One SELECT of every person-bearing record the lake holds (landed, else latest quarantined), as roles."""
    have = _tables(con)
    parts = []
    for dataset, (key, roles, where) in PERSON_RECORDS.items():
        raw = "raw." + dataset.replace(".", "_")
        uid = f"'{dataset}:' || {key}"
        cols = ", ".join(f"CAST({column} AS VARCHAR) AS {role}" for role, column in roles.items())
        if raw in have:
            parts.append(
                f"SELECT {uid} AS unique_id, '{dataset}' AS source_dataset, {cols} FROM {raw}"
                + (f" WHERE {where}" if where else "")
            )
        if "quarantine.rows" in have:
            columns = [key, *roles.values(), *(["owner_type"] if where else [])]
            pick = ", ".join(f"json_extract_string(record, '$.{c}') AS {c}" for c in columns)
            landed = (
                f"AND json_extract_string(record, '$.{key}') NOT IN (SELECT {key} FROM {raw})" if raw in have else ""
            )
            filt = f"WHERE {where}" if where else ""
            parts.append(
                f"SELECT {uid} AS unique_id, '{dataset}' AS source_dataset, {cols} FROM ("
                f"SELECT {pick} FROM quarantine.rows WHERE dataset = '{dataset}' {landed} "
                f"QUALIFY row_number() OVER (PARTITION BY json_extract_string(record, '$.{key}') "
                "ORDER BY batch_id DESC) = 1"
                f") q {filt}"
            )
    return " UNION ALL BY NAME ".join(parts)

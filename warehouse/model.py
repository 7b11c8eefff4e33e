"""The conformed layer, the cross-department model (一标三实) and the discrepancy views, over the raw tables.

``conformed.<dataset>`` types each raw table by its contract (dates, instants, numbers).

``shared.person`` / ``phone`` / ``address`` / ``unit`` are the entities; the facts are the raw tables.
The discrepancy views answer the reports' questions. A view is (re)published only when every table
it reads has landed, so the lake never holds a view that cannot run. "Known to civil affairs" counts
quarantined civil records too: a record that failed a check is still a record civil affairs holds.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from connectors.staging import LINEAGE
from contracts import contracts
from contracts.checks import Contract
from contracts.sql import literal, quote
from warehouse.land import table_name

CIVIL_IDS = """SELECT id_number FROM raw.civil_residents UNION SELECT json_extract_string(record, '$.id_number')
  FROM quarantine.rows WHERE dataset = 'civil.residents'"""
RENTALS = """SELECT 'housing.rentals' AS dataset, rental_id AS rental_key, tenant_id_number, tenant_name, address_code,
  address, start_date, end_date FROM raw.housing_rentals UNION ALL SELECT 'housing.rental_filings', filing_no,
  tenant_id_number, tenant_name, address_code, address, start_date, end_date FROM raw.housing_rental_filings"""

# view -> (SQL, tables it reads)
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shared.person": (
        """SELECT id_number, any_value(name) AS name, any_value(sex) AS sex, any_value(birth_date) AS birth_date,
             list(DISTINCT dataset) AS known_to FROM (
           SELECT id_number, name, sex, CAST(birth_date AS VARCHAR) AS birth_date, 'civil.residents' AS dataset
             FROM raw.civil_residents
           UNION ALL SELECT id_number, name, NULL, NULL, 'telecom.subscribers' FROM raw.telecom_subscribers
           UNION ALL SELECT id_number, name, gender, birth_date, 'health.patients' FROM raw.health_patients)
           GROUP BY id_number""",
        ("raw.civil_residents", "raw.telecom_subscribers", "raw.health_patients"),
    ),
    "shared.phone": (
        "SELECT msisdn, id_number, name, carrier, status, activated_at, cancelled_at, subscriber_id "
        "FROM raw.telecom_subscribers",
        ("raw.telecom_subscribers",),
    ),
    "shared.address": (
        """SELECT address_code, any_value(address) AS address, list(DISTINCT dataset) AS known_to FROM (
             SELECT address_code, address, 'civil.residents' AS dataset FROM raw.civil_residents
             UNION ALL SELECT address_code, address, 'housing.properties' FROM raw.housing_properties)
           GROUP BY address_code""",
        ("raw.civil_residents", "raw.housing_properties"),
    ),
    "shared.unit": (
        "SELECT DISTINCT owner_id AS credit_code, owner_name AS name FROM raw.housing_properties "
        "WHERE owner_type = '单位'",
        ("raw.housing_properties",),
    ),
    "shared.rental": (RENTALS, ("raw.housing_rentals", "raw.housing_rental_filings")),
    "shared.dead_with_active_phone": (
        """SELECT s.subscriber_id, s.msisdn, s.id_number, p.patient_id, p.deceased_at
           FROM raw.telecom_subscribers s JOIN raw.health_patients p ON p.id_number = s.id_number
           WHERE s.status = 'active' AND p.deceased_at IS NOT NULL""",
        ("raw.telecom_subscribers", "raw.health_patients"),
    ),
    "shared.dead_but_registered": (
        """SELECT r.resident_id, r.id_number, r.household_id, p.patient_id, p.deceased_at
           FROM raw.civil_residents r JOIN raw.health_patients p ON p.id_number = r.id_number
           WHERE r.status = '正常' AND p.deceased_at IS NOT NULL""",
        ("raw.civil_residents", "raw.health_patients"),
    ),
    "shared.tenant_not_registered": (
        f"""SELECT t.* FROM ({RENTALS}) t WHERE NOT EXISTS (SELECT 1 FROM raw.civil_residents r
              WHERE r.id_number = t.tenant_id_number AND r.address_code = t.address_code AND r.status = '正常')""",
        ("raw.housing_rentals", "raw.housing_rental_filings", "raw.civil_residents"),
    ),
    "shared.duplicate_registration": (
        """SELECT resident_id, id_number, household_id, address_code FROM raw.civil_residents WHERE status = '正常'
           QUALIFY count(*) OVER (PARTITION BY id_number) > 1""",
        ("raw.civil_residents",),
    ),
    "shared.health_unknown_to_civil": (
        f"""SELECT patient_id, id_number, name FROM raw.health_patients
           WHERE id_number NOT IN ({CIVIL_IDS})""",
        ("raw.health_patients", "raw.civil_residents", "quarantine.rows"),
    ),
}
# the views that list cross-department discrepancies (``xgate discrepancies``)
DISCREPANCIES = (
    "shared.dead_with_active_phone",
    "shared.dead_but_registered",
    "shared.tenant_not_registered",
    "shared.duplicate_registration",
    "shared.health_unknown_to_civil",
)


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'lake'"
        ).fetchall()
    }


CAST_TO = {"date": "DATE", "timestamp": "TIMESTAMPTZ", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}


def conformed_sql(contract: Contract, columns: set[str], zone: str) -> str:
    """The typed view of a raw table: each contract field cast to its logical type (text with an offset is
    an instant; naive text, a bare date (its midnight) and SQL timestamps are the department's wall clock,
    ``zone`` as ``+08:00``, the one freshness reads them in), lineage kept."""
    select = []
    for name, spec in contract.fields.items():
        if name not in columns:
            continue
        kind = CAST_TO.get(spec.logical_type)
        value = quote(name)
        if kind == "TIMESTAMPTZ":
            text = f"CAST({value} AS VARCHAR)"
            select.append(
                f"CASE WHEN regexp_matches({text}, '([+-][0-9][0-9]:?[0-9][0-9]|Z)$') THEN TRY_CAST({text} AS "
                f"TIMESTAMPTZ) ELSE TRY_CAST(CAST(TRY_CAST({text} AS TIMESTAMP) AS VARCHAR) || {literal(zone)} "
                f"AS TIMESTAMPTZ) END AS {value}"
            )
        elif kind:
            select.append(f"TRY_CAST(CAST({value} AS VARCHAR) AS {kind}) AS {value}")
        else:
            select.append(value)
    select += [quote(c) for c in sorted(columns) if c in LINEAGE or c == "contract_version"]
    return f"SELECT {', '.join(select)} FROM {table_name(contract.id)}"


def publish(
    con: duckdb.DuckDBPyConnection, zone: str, datasets: Iterable[str] | None = None, shared: bool = True
) -> list[str]:
    """(Re)create, in one transaction, the conformed views of ``datasets`` (None: every landed one; naive
    times read in ``zone``) and, with ``shared``, every cross-department view whose inputs have landed;
    returns the views published."""
    existing = _existing(con)
    wanted = None if datasets is None else set(datasets)
    ready = []
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE SCHEMA IF NOT EXISTS shared")
    con.execute("CREATE SCHEMA IF NOT EXISTS conformed")
    for contract in contracts().values():
        raw = table_name(contract.id)
        if raw in existing and (wanted is None or contract.id in wanted):
            columns = {row[0] for row in con.execute(f"DESCRIBE {raw}").fetchall()}
            name = f"conformed.{raw.split('.', 1)[1]}"
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {conformed_sql(contract, columns, zone)}")
            ready.append(name)
    if shared:
        for name, (sql, needs) in VIEWS.items():
            if set(needs) <= existing:
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
                ready.append(name)
    con.execute("COMMIT")
    return ready

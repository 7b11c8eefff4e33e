"""The conformed layer, the cross-department model (一标三实) and the discrepancy views, over the raw tables.

``conformed.<dataset>`` types each raw table by its contract (dates, instants, numbers).

``shared.person`` / ``phone`` / ``address`` / ``unit`` are the entities; the facts are the raw tables.
The discrepancy views answer the reports' questions, joining departments on the person that linkage
(``xgate link``, :mod:`linkage`) found rather than on the ID number. A view is (re)published only when
every table it reads exists, so the lake never holds a view that cannot run. The discrepancy lists are
published as tables, computed once at publish (after every sync and linkage run) rather than at every
read: each joins the person links of whole departments, which a person look-up would otherwise pay for
every time, and the list stays the one of the snapshot it was published in. "Known to civil affairs"
counts quarantined civil records too (linkage links them): a record that failed a check is still a
record civil affairs holds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import duckdb

from connectors.staging import LINEAGE
from contracts import contracts
from contracts.checks import Contract
from contracts.sql import literal, quote
from warehouse.land import retry_conflicts, table_name

RENTALS = """SELECT 'housing.rentals' AS dataset, rental_id AS rental_key, tenant_id_number, tenant_name, address_code,
  address, start_date, end_date FROM raw.housing_rentals UNION ALL SELECT 'housing.rental_filings', filing_no,
  tenant_id_number, tenant_name, address_code, address, start_date, end_date FROM raw.housing_rental_filings"""

# Discrepancies join departments on the person (``shared.person_link``, written by ``xgate link``), not
# on the ID number, so they also find records without an ID or one digit off. Each row says how its two
# records were joined: ``exact`` when both carry the person's main ID, else ``probable`` with the weaker
# of the two records' match probabilities.
JOINED = """CASE WHEN a.matched_by = 'exact_id' AND b.matched_by = 'exact_id' THEN 'exact' ELSE 'probable' END
    AS joined,
  CASE WHEN a.matched_by = 'exact_id' AND b.matched_by = 'exact_id' THEN 1.0
       ELSE least(a.match_probability, b.match_probability) END AS match_probability"""


def _linked(alias: str, dataset: str | None, key: str, extra: str = "") -> str:
    """Join the person link of a record (``key``: its primary key expression) as ``alias``."""
    on = (
        [f"{alias}.record_key = {key}"]
        + ([f"{alias}.dataset = '{dataset}'"] if dataset else [])
        + ([extra] if extra else [])
    )
    return f"JOIN shared.person_link {alias} ON {' AND '.join(on)}"


def _same_person(alias: str, dataset: str) -> str:
    """Join the other records of the same person in ``dataset`` as ``alias``."""
    return f"JOIN shared.person_link {alias} ON {alias}.person_key = a.person_key AND {alias}.dataset = '{dataset}'"


# view -> (SQL, tables it reads)
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shared.person": (
        """SELECT id_number, any_value(name ORDER BY dataset) AS name, any_value(sex ORDER BY dataset) AS sex,
             any_value(birth_date ORDER BY dataset) AS birth_date, list(DISTINCT dataset ORDER BY dataset) AS known_to
           FROM (
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
        f"""SELECT s.subscriber_id, s.msisdn, s.id_number, p.patient_id, p.deceased_at, {JOINED}
           FROM raw.telecom_subscribers s {_linked("a", "telecom.subscribers", "s.subscriber_id")}
           {_same_person("b", "health.patients")} JOIN raw.health_patients p ON p.patient_id = b.record_key
           WHERE s.status = 'active' AND p.deceased_at IS NOT NULL""",
        ("raw.telecom_subscribers", "raw.health_patients", "shared.person_link"),
    ),
    "shared.dead_but_registered": (
        f"""SELECT r.resident_id, r.id_number, r.household_id, p.patient_id, p.deceased_at, {JOINED}
           FROM raw.civil_residents r {_linked("a", "civil.residents", "r.resident_id")}
           {_same_person("b", "health.patients")} JOIN raw.health_patients p ON p.patient_id = b.record_key
           WHERE r.status = '正常' AND p.deceased_at IS NOT NULL""",
        ("raw.civil_residents", "raw.health_patients", "shared.person_link"),
    ),
    "shared.tenant_not_registered": (
        f"""SELECT t.*, CASE WHEN c.person_key IS NULL THEN 'unknown to civil affairs'
             WHEN c.exact THEN 'exact' ELSE 'probable' END AS joined, c.match_probability
           FROM ({RENTALS}) t {_linked("a", None, "t.rental_key", "a.dataset = t.dataset")}
           LEFT JOIN (SELECT b.person_key, bool_or(b.matched_by = 'exact_id') AS exact,
                        max(b.match_probability) AS match_probability FROM shared.person_link b
                      WHERE b.dataset = 'civil.residents' GROUP BY b.person_key) c ON c.person_key = a.person_key
           WHERE NOT EXISTS (SELECT 1 FROM shared.person_link b
              JOIN raw.civil_residents r ON r.resident_id = b.record_key
              WHERE b.dataset = 'civil.residents' AND b.person_key = a.person_key AND r.address_code = t.address_code
              AND r.status = '正常')""",
        ("raw.housing_rentals", "raw.housing_rental_filings", "raw.civil_residents", "shared.person_link"),
    ),
    "shared.duplicate_registration": (
        f"""SELECT r.resident_id, r.id_number, r.household_id, r.address_code, {JOINED}
           FROM raw.civil_residents r {_linked("a", "civil.residents", "r.resident_id")}
           {_same_person("b", "civil.residents")} JOIN raw.civil_residents r2 ON r2.resident_id = b.record_key
           WHERE r.status = '正常' AND r2.status = '正常' AND r2.resident_id <> r.resident_id""",
        ("raw.civil_residents", "shared.person_link"),
    ),
    # a person's own records over time, for the person page's timeline (registrations, moves, a death civil
    # affairs registered, health events: these last need the health grant, their fields being sensitive)
    "shared.registration": (
        "SELECT resident_id, id_number, household_id, address_code, address, status, registered_on "
        "FROM raw.civil_residents",
        ("raw.civil_residents",),
    ),
    "shared.death_registration": (
        "SELECT death_id, id_number, death_date, registered_on FROM raw.civil_deaths",
        ("raw.civil_deaths",),
    ),
    "shared.health_event": (
        """SELECT e.encounter_id, p.id_number, e.class_code, e.type_text, e.status, e.period_start, e.period_end
           FROM raw.health_encounters e JOIN raw.health_patients p ON p.patient_id = e.patient_id""",
        ("raw.health_encounters", "raw.health_patients"),
    ),
    "shared.linked_record": (
        """SELECT person_key, dataset, record_key, matched_by, match_probability,
             CASE WHEN matched_by = 'exact_id' THEN 'exact'
                  WHEN matched_by = 'probable' THEN 'probable, p = ' || printf('%.2f', match_probability)
                  ELSE matched_by END AS how
           FROM shared.person_link""",
        ("shared.person_link",),
    ),
    "shared.health_unknown_to_civil": (
        """SELECT p.patient_id, p.id_number, p.name, a.matched_by, a.match_probability
           FROM raw.health_patients p JOIN shared.person_link a ON a.dataset = 'health.patients'
             AND a.record_key = p.patient_id
           WHERE NOT EXISTS (SELECT 1 FROM shared.person_link b WHERE b.person_key = a.person_key
             AND b.dataset = 'civil.residents')""",
        ("raw.health_patients", "shared.person_link"),
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


def _existing(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every lake table and view, with its kind (``BASE TABLE`` or ``VIEW``)."""
    return {
        f"{s}.{t}": kind
        for s, t, kind in con.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_catalog = 'lake'"
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
    returns the views published. Publishers on a shared catalog retry a conflicting commit, as landing does."""
    return retry_conflicts(lambda: _publish_once(con, zone, datasets, shared))


def _publish_once(con: duckdb.DuckDBPyConnection, zone: str, datasets: Iterable[str] | None, shared: bool) -> list[str]:
    existing = _existing(con)
    wanted = None if datasets is None else set(datasets)
    ready = []
    con.execute("BEGIN TRANSACTION")
    try:
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
                if not set(needs) <= set(existing):
                    continue
                if name in DISCREPANCIES:
                    if existing.get(name) == "VIEW":  # published as a view by an earlier version
                        con.execute(f"DROP VIEW {name}")
                    con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")
                else:
                    con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
                ready.append(name)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT has already rolled back
            con.execute("ROLLBACK")
        raise
    return ready

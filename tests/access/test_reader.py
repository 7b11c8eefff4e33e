"""Masking on every path (person, address, phone, query, engineers' SQL), grants, roles, case and purpose."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from access import audit, grants, lookups
from access.reader import Reader
from access.users import Refused, User
from contracts.masking import HIDDEN
from tests.access.conftest import INVESTIGATOR

MASKED_ID = re.compile(r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$")
MASKED_PHONE = re.compile(r"^1[0-9]{2}\*{4}[0-9]{4}$")
MASKED_NAME = re.compile(r"^\w\*+$")
ADMIN = User(name="admin", role="admin")


def read(settings, call):
    reader = Reader(settings)
    try:
        return reader.read(call)
    finally:
        reader.close()


def rows_of(section) -> list[dict]:
    columns, rows = section
    return [dict(zip(columns, row)) for row in rows]


def test_person_is_masked_and_health_hidden_without_grant(access_settings, facts) -> None:
    shown = read(access_settings, lookups.person(INVESTIGATOR, facts["dead_id"], "C-1", "missing person"))
    [person] = rows_of(shown["person"])
    assert MASKED_ID.match(person["id_number"]) and MASKED_NAME.match(person["name"])
    assert person["id_number"][-4:] == facts["dead_id"][-4:]
    assert all(MASKED_PHONE.match(p["msisdn"]) for p in rows_of(shown["phones"]))
    deaths = rows_of(shown["deaths"])
    assert deaths and all(d["deceased_at"] == HIDDEN for d in deaths)
    [record] = audit.records(access_settings)
    assert record["outcome"] == "allowed" and record["rows"] >= 3 and record["snapshot"] is not None
    assert audit.subject_hash(access_settings, facts["dead_id"]) in record["subjects"]
    assert len(record["result_hash"]) == 64 and record["case"] == "C-1" and record["purpose"] == "missing person"


def test_grant_shows_health_to_that_case_only_until_it_expires(access_settings, facts) -> None:
    grant = grants.request(access_settings, INVESTIGATOR, "C-2", "health.patients", "identify the deceased")
    assert grants.granted(access_settings, "C-2") == frozenset()  # pending is not granted
    grants.approve(access_settings, ADMIN, grant.id, days=7)
    shown = read(access_settings, lookups.person(INVESTIGATOR, facts["dead_id"], "C-2", "identify"))
    assert facts["deceased"] in {str(d["deceased_at"]) for d in rows_of(shown["deaths"])}
    assert MASKED_ID.match(rows_of(shown["person"])[0]["id_number"])  # a grant does not unmask personal fields
    other = read(access_settings, lookups.person(INVESTIGATOR, facts["dead_id"], "C-3", "other case"))
    assert all(d["deceased_at"] == HIDDEN for d in rows_of(other["deaths"]))
    later = datetime.now(UTC) + timedelta(days=8)
    assert grants.granted(access_settings, "C-2", now=later) == frozenset()
    assert audit.records(access_settings)[0]["granted"] == ["health.patients"]


def test_expired_grant_hides_again(access_settings, facts) -> None:
    grant = grants.request(access_settings, INVESTIGATOR, "C-4", "health.patients", "old case")
    grants.approve(access_settings, ADMIN, grant.id, days=1, now=datetime.now(UTC) - timedelta(days=2))
    shown = read(access_settings, lookups.phone(INVESTIGATOR, facts["msisdn"], "C-4", "old case"))
    assert rows_of(shown["deaths"]) and all(d["deceased_at"] == HIDDEN for d in rows_of(shown["deaths"]))
    with pytest.raises(Refused, match="1 to 90"):
        grants.approve(access_settings, ADMIN, grant.id, days=0)


def test_phone_lookup_masks_and_accepts_formats(access_settings, facts) -> None:
    number = f"+86 {facts['msisdn'][:3]}-{facts['msisdn'][3:7]}-{facts['msisdn'][7:]}"
    shown = read(access_settings, lookups.phone(INVESTIGATOR, number, "C-5", "threat call"))
    [phone] = rows_of(shown["phone"])
    assert MASKED_PHONE.match(phone["msisdn"]) and MASKED_ID.match(phone["id_number"])
    assert audit.subject_hash(access_settings, facts["dead_id"]) in audit.records(access_settings)[0]["subjects"]


def test_address_lookup_masks_tenants(access_settings, facts) -> None:
    shown = read(access_settings, lookups.address(INVESTIGATOR, facts["address"], "C-6", "burglary"))
    rentals = rows_of(shown["rentals"])
    assert rentals and all(MASKED_ID.match(r["tenant_id_number"]) for r in rentals)
    assert facts["tenant"] not in str(shown)
    assert audit.subject_hash(access_settings, facts["tenant"]) in audit.records(access_settings)[0]["subjects"]


def test_free_query_masks_personal_and_passes_internal(access_settings, facts) -> None:
    sql = (
        "SELECT p.name, ph.msisdn, ph.status, count(*) OVER () AS n "
        "FROM shared.person p JOIN shared.phone ph USING (id_number)"
    )
    [(columns, rows)] = read(access_settings, lookups.query(INVESTIGATOR, sql, "C-8", "link")).values()
    assert columns == ["name", "msisdn", "status", "n"] and rows
    assert all(MASKED_NAME.match(r[0]) and MASKED_PHONE.match(r[1]) for r in rows)
    assert {r[2] for r in rows} <= {"active", "cancelled"} and rows[0][3] > 0


def test_query_naming_an_id_is_a_read_of_that_person(access_settings, facts) -> None:
    sql = f"SELECT name FROM shared.person WHERE id_number = '{facts['dead_id']}'"
    read(access_settings, lookups.query(INVESTIGATOR, sql, "C-9", "check"))
    assert [r["case"] for r in audit.who_read(access_settings, facts["dead_id"])] == ["C-9"]


@pytest.mark.parametrize("case, purpose", [(None, "p"), ("C-1", None), ("", "p"), ("C-1", "  ")])
def test_refused_without_case_or_purpose(access_settings, facts, case, purpose) -> None:
    with pytest.raises(Refused, match="case number"):
        read(access_settings, lookups.person(INVESTIGATOR, facts["dead_id"], case, purpose))
    [record] = audit.records(access_settings)
    assert record["outcome"] == "refused" and "case number" in record["reason"]
    assert audit.subject_hash(access_settings, facts["dead_id"]) in record["subjects"]  # the attempt counts


@pytest.mark.parametrize(
    "role, call",
    [
        ("engineer", lambda u, f: lookups.person(u, f["dead_id"], "C-1", "p")),
        ("auditor", lambda u, f: lookups.query(u, "SELECT 1 AS one", "C-1", "p")),
        ("admin", lambda u, f: lookups.phone(u, f["msisdn"], "C-1", "p")),
        ("investigator", lambda u, f: lookups.engineer_sql(u, "SELECT count(*) FROM raw.civil_residents")),
    ],
)
def test_wrong_role_is_refused_and_logged(access_settings, facts, role, call) -> None:
    with pytest.raises(Refused, match=f"role {role} may not"):
        read(access_settings, call(User(name=role, role=role), facts))
    [record] = audit.records(access_settings)
    assert (record["role"], record["outcome"]) == (role, "refused")


def test_engineer_sql_is_masked_audited_and_pins_snapshots(access_settings, landed) -> None:
    engineer = User(name="engineer", role="engineer")
    sql = "SELECT id_number, name, ethnicity, status, _batch_id FROM raw.civil_residents LIMIT 5"
    [(_, rows)] = read(access_settings, lookups.engineer_sql(engineer, sql)).values()
    assert rows and all(MASKED_ID.match(r[0]) and r[2] == HIDDEN and r[4] for r in rows)
    dead = "WITH d AS (SELECT * FROM shared.dead_but_registered) SELECT count(*) AS n FROM d"
    [(_, [(n,)])] = read(access_settings, lookups.engineer_sql(engineer, dead)).values()
    assert n == sum(1 for a in landed[1]["anomalies"] if a["kind"] == "dead_but_registered") > 0
    reader = Reader(access_settings, as_of=2)
    try:
        [(_, [(old,)])] = reader.read(lookups.engineer_sql(engineer, "SELECT count(*) FROM meta.batches")).values()
    finally:
        reader.close()
    [(_, [(now,)])] = read(
        access_settings, lookups.engineer_sql(engineer, "SELECT count(*) FROM meta.batches")
    ).values()
    assert old < now
    records = audit.records(access_settings)
    assert [r["command"] for r in records] == ["sql"] * 4 and records[2]["snapshot"] == 2
    with pytest.raises(Refused):
        read(access_settings, lookups.engineer_sql(engineer, "SELECT * FROM read_parquet('x.parquet')"))

"""The investigators' lookups: fixed reads of the shared views, declared, not written per call.

A lookup finds rows by a key the investigator gives (an ID number, a phone, an address code): the
filter runs on the stored value, and what comes back is shown as the read's context allows
(:mod:`access.masked`), so a lookup never shows more than a query could. Each section is one or more
parts, ``UNION ALL``-ed; a part is a view, its columns, the filter, and constant columns that say
which finding a row is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from access.probes import normalised
from access.users import User


@dataclass(frozen=True)
class Part:
    view: str
    columns: tuple[str, ...]  # () means every column the reader may see
    where: str  # SQL over the view's stored columns, with $value
    constants: tuple[tuple[str, str], ...] = ()  # (column, text) shown before the view's columns


@dataclass
class Call:
    user: User
    command: str
    text: str  # the query, or the lookup and its argument, as recorded
    case: str | None = None
    purpose: str | None = None
    sql: str | None = None  # free SQL (query, sql); lookups have sections instead
    value: str | None = None
    sections: dict[str, tuple[Part, ...]] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)  # ID numbers the call names besides its text (a list's)


# the person's records in every department, found through linkage from the records that carry the ID
LINKED = """person_key IN (SELECT l.person_key FROM lake.shared.person_link l JOIN (
  SELECT 'civil.residents' AS dataset, resident_id AS record_key FROM lake.raw.civil_residents WHERE id_number = $value
  UNION ALL SELECT 'telecom.subscribers', subscriber_id FROM lake.raw.telecom_subscribers WHERE id_number = $value
  UNION ALL SELECT 'health.patients', patient_id FROM lake.raw.health_patients WHERE id_number = $value) r
  ON l.dataset = r.dataset AND l.record_key = r.record_key)"""
PERSON = {
    "person": (Part("shared.person", (), "id_number = $value"),),
    "phones": (
        Part("shared.phone", ("msisdn", "carrier", "status", "activated_at", "cancelled_at"), "id_number = $value"),
    ),
    "rentals": (
        Part(
            "shared.rental",
            ("dataset", "rental_key", "address_code", "address", "start_date", "end_date"),
            "tenant_id_number = $value",
        ),
    ),
    "deaths": (
        Part(
            "shared.dead_but_registered", ("deceased_at",), "id_number = $value", (("finding", "dead_but_registered"),)
        ),
        Part(
            "shared.dead_with_active_phone",
            ("deceased_at",),
            "id_number = $value",
            (("finding", "dead_with_active_phone"),),
        ),
    ),
    "duplicate_registrations": (
        Part("shared.duplicate_registration", ("household_id", "address_code"), "id_number = $value"),
    ),
    "linked_records": (Part("shared.linked_record", ("dataset", "record_key", "how"), LINKED),),
}
ADDRESS = {
    "address": (Part("shared.address", (), "address_code = $value"),),
    "rentals": (
        Part(
            "shared.rental",
            ("dataset", "rental_key", "tenant_id_number", "tenant_name", "start_date", "end_date"),
            "address_code = $value",
        ),
    ),
    "tenants_not_registered": (
        Part(
            "shared.tenant_not_registered", ("rental_key", "tenant_id_number", "tenant_name"), "address_code = $value"
        ),
    ),
    "duplicate_registrations": (
        Part("shared.duplicate_registration", ("resident_id", "id_number", "household_id"), "address_code = $value"),
    ),
}
PHONE = {
    "phone": (Part("shared.phone", (), "msisdn = $value"),),
    "deaths": (Part("shared.dead_with_active_phone", ("id_number", "deceased_at"), "msisdn = $value"),),
}
# an auditor's (or engineer's) drill-down from a failing rule to its rows: each value masked by its own field
QUARANTINE_COLUMNS = ("batch_id", "dataset", "rule_key", "column_name", "severity", "row_number", "value", "record")
QUARANTINE = {
    "quarantined": (Part("quarantine.rows", QUARANTINE_COLUMNS, "rule_key = $value"),),
    "findings": (Part("quarantine.findings", QUARANTINE_COLUMNS, "rule_key = $value"),),
}


def person(user: User, id_number: str, case: str | None, purpose: str | None) -> Call:
    value = normalised(id_number)  # full-width digits, or a 15-digit legacy ID: the 18-digit form the lake holds
    return Call(user, "person", f"person {value}", case, purpose, value=value, sections=PERSON)


def address(user: User, code: str, case: str | None, purpose: str | None) -> Call:
    value = code.strip()
    return Call(user, "address", f"address {value}", case, purpose, value=value, sections=ADDRESS)


def phone(user: User, number: str, case: str | None, purpose: str | None) -> Call:
    digits = re.sub(r"\D", "", number)
    value = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    return Call(user, "phone", f"phone {value}", case, purpose, value=value, sections=PHONE)


def query(user: User, sql: str, case: str | None, purpose: str | None) -> Call:
    return Call(user, "query", sql, case, purpose, sql=sql)


def engineer_sql(user: User, sql: str) -> Call:
    return Call(user, "sql", sql, sql=sql)


def link_file(user: User, listing: str, ids: set[str], case: str | None, purpose: str | None) -> Call:
    """A person list collided with the lake's people; the IDs it holds count as named."""
    return Call(user, "link file", f"link file {listing}", case, purpose, named=ids)


def quarantine(user: User, rule_key: str) -> Call:
    """The quarantined rows and findings of one rule, masked as any read is; no case: they are triage, not a person."""
    value = rule_key.strip()
    return Call(user, "quarantine", f"quarantine {value}", value=value, sections=QUARANTINE)

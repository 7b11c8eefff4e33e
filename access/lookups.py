"""The investigators' lookups: fixed reads of the shared views, declared, not written per call.

A lookup finds rows by a key the investigator gives (an ID number, a phone, an address code): the
filter runs on the stored value, and what comes back is shown as the read's context allows
(:mod:`access.masked`), so a lookup never shows more than a query could. Each section is one or more
parts, ``UNION ALL``-ed; a part is a view, its columns, the filter, and constant columns that say
which finding a row is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from access import audit, probes
from access.probes import normalised
from access.users import Refused, User
from xgate.settings import Settings


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
    value: str | list[str] | None = None  # $value of the sections' filters
    sections: dict[str, tuple[Part, ...]] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)  # ID numbers the call names besides its text (a list's)
    guard: Callable[[Settings, Call], None] | None = None  # refuses before the read runs (recorded as any refusal)


def _linked(ids: str) -> str:
    """The person's records in every department, found through linkage from the records that carry ``ids``
    (``linkage.person_index``, in ID order: a few row groups, not every link, are read)."""
    return f"person_key IN (SELECT person_key FROM lake.linkage.person_index WHERE id_number {ids})"


def _person(ids: str) -> dict[str, tuple[Part, ...]]:
    """A person's records in every department, each part filtered by ``ids`` (SQL after the ID column:
    ``= $value``, ``IN (...)``)."""

    return {
        "person": (Part("shared.person", (), f"id_number {ids}"),),
        "phones": (
            Part("shared.phone", ("msisdn", "carrier", "status", "activated_at", "cancelled_at"), f"id_number {ids}"),
        ),
        "registrations": (
            Part(
                "shared.registration",
                ("household_id", "address_code", "address", "status", "registered_on"),
                f"id_number {ids}",
            ),
        ),
        "rentals": (
            Part(
                "shared.rental",
                ("dataset", "rental_key", "address_code", "address", "start_date", "end_date"),
                f"tenant_id_number {ids}",
            ),
        ),
        "deaths": (
            Part(
                "shared.dead_but_registered",
                ("deceased_at",),
                f"id_number {ids}",
                (("finding", "dead_but_registered"),),
            ),
            Part(
                "shared.dead_with_active_phone",
                ("deceased_at",),
                f"id_number {ids}",
                (("finding", "dead_with_active_phone"),),
            ),
        ),
        "death_registrations": (
            Part("shared.death_registration", ("death_date", "registered_on"), f"id_number {ids}"),
        ),
        "health_events": (
            Part(
                "shared.health_event",
                ("class_code", "type_text", "status", "period_start", "period_end"),
                f"id_number {ids}",
            ),
        ),
        "duplicate_registrations": (
            Part("shared.duplicate_registration", ("household_id", "address_code"), f"id_number {ids}"),
        ),
        "linked_records": (Part("shared.linked_record", ("dataset", "record_key", "how"), _linked(ids)),),
    }


PERSON = _person("= $value")
# the people a name and a full birth date name exactly, in the departments that hold both ($value: [name, date])
MATCHES = """IN (SELECT id_number FROM lake.raw.civil_residents WHERE name = $value[1] AND birth_date = $value[2]
  UNION SELECT id_number FROM lake.raw.health_patients WHERE name = $value[1] AND birth_date = $value[2])"""
# Found by name and birth date, a person is shown by who they are and which departments know them, and nothing
# more: their masked ID (region, sequence) with the birth date the searcher gave is the whole number, and any
# other value shown (a key, a registration date, a masked phone or address) finds that masked ID in one more
# read. Their records are read by ID (a look-up, or as a subject of the case).
NAMED = {"person": (Part("shared.person", ("name", "sex", "birth_date", "known_to"), f"id_number {MATCHES}"),)}
# the person linkage found behind one record ($value: [dataset, record key]): the IDs of every record linked to it
RECORD_IDS = """IN (WITH r AS (
    SELECT 'civil.residents' AS dataset, resident_id AS record_key, id_number AS id FROM lake.raw.civil_residents
    UNION ALL SELECT 'telecom.subscribers', subscriber_id, id_number FROM lake.raw.telecom_subscribers
    UNION ALL SELECT 'health.patients', patient_id, id_number FROM lake.raw.health_patients
    UNION ALL SELECT 'housing.rentals', rental_id, tenant_id_number FROM lake.raw.housing_rentals
    UNION ALL SELECT 'housing.rental_filings', filing_no, tenant_id_number FROM lake.raw.housing_rental_filings)
  SELECT id FROM r WHERE dataset = $value[1] AND record_key = $value[2]
  UNION SELECT r.id FROM r JOIN lake.shared.person_link m ON m.dataset = r.dataset AND m.record_key = r.record_key
    JOIN lake.shared.person_link l ON l.person_key = m.person_key
    WHERE l.dataset = $value[1] AND l.record_key = $value[2])"""
RECORD = _person(RECORD_IDS)
RECORD_DATASETS = ("civil.residents", "telecom.subscribers", "health.patients", "housing.rentals",
                   "housing.rental_filings")  # fmt: skip
# each discrepancy list, and the record of its rows a drill-down opens: (dataset, or the column naming it; key column)
DISCREPANCY_RECORDS = {
    "shared.dead_with_active_phone": ("telecom.subscribers", "subscriber_id"),
    "shared.dead_but_registered": ("civil.residents", "resident_id"),
    "shared.tenant_not_registered": ("dataset", "rental_key"),
    "shared.duplicate_registration": ("civil.residents", "resident_id"),
    "shared.health_unknown_to_civil": ("health.patients", "patient_id"),
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


GUESSES = 3  # birth dates one name may be searched with, and names one birth date, in 30 days (typos allowed for)
DATE = re.compile(r"([0-9]{4})[-/.年]?([0-9]{1,2})[-/.月]?([0-9]{1,2})日?")


def _born(text: str) -> str:
    """A full birth date as the departments store it (``YYYY-MM-DD``), or the text as given (the guard refuses it)."""
    found = DATE.fullmatch(text)
    try:
        return date(*(int(g) for g in found.groups())).isoformat() if found else text
    except ValueError:
        return text


def search_text(settings: Settings, name: str, born: str) -> str:
    """A name and birth date search as recorded: each value as a keyed token (never the value), so the guard
    and auditors can tell the same name or date tried again, and nothing else."""
    name_token, born_token = (audit.subject_hash(settings, v)[:12] for v in (name, born))
    return f"search name <t:{name_token}> born <v:{born_token}>"


def search(settings: Settings, user: User, name: str, born: str, case: str | None, purpose: str | None) -> Call:
    """The people a name and a full birth date name exactly (both required): who they are and which departments
    know them (:data:`NAMED`: any other value would find the masked ID), guarded against guessing."""
    value = [" ".join(unicodedata.normalize("NFKC", name).split()), _born(unicodedata.normalize("NFKC", born).strip())]
    text = search_text(settings, *value)
    return Call(user, "search", text, case, purpose, value=value, sections=NAMED, guard=_not_guessing)


def _not_guessing(settings: Settings, call: Call) -> None:
    """Refuse a search that could serve to guess rather than to find: a name or date missing or partial, more
    than ``XGATE_NAME_SEARCHES`` searches by this user in 24 hours, or a name tried with more than
    :data:`GUESSES` birth dates (or a birth date with more than as many names) in 30 days: one
    found that way would confirm what the masks hide (``1986-**-**``, ``张*``). Counted per user in
    :mod:`access.probes` (CLI and web share one count; rotating the audit resets nothing)."""
    name, born = call.value
    signs = [c for c in name if c.isdigit() or (unicodedata.category(c)[0] in "CPS" and c not in "·-'.")]
    if not name or len(name) > 64 or signs:
        raise Refused("a search needs the person's full name as written (letters, no digits or signs)")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", born):
        raise Refused("a search needs the full birth date (YYYY-MM-DD): a year or a month finds no one")
    probes.searched(settings, call.user.name, name, born, GUESSES, settings.name_searches)


def record(user: User, dataset: str, key: str, case: str | None, purpose: str | None) -> Call:
    """The person linkage found behind one record (a discrepancy list's row opened): their records, as ``person``."""
    value = [dataset.strip(), key.strip()]
    return Call(user, "record", f"record {value[0]} {value[1]}", case, purpose, value=value, sections=RECORD,
                guard=_known_record)  # fmt: skip


def _known_record(settings: Settings, call: Call) -> None:
    if call.value[0] not in RECORD_DATASETS:
        raise Refused(f"a record is one of {', '.join(RECORD_DATASETS)}")


def discrepancy(user: User, view: str, case: str | None, purpose: str | None) -> Call:
    """One cross-department discrepancy list, every row the reader may see of it (cut at ``XGATE_QUERY_ROWS``)."""
    view = view.strip()
    view = view if "." in view else f"shared.{view}"
    sections = {view.split(".", 1)[1]: (Part(view, (), ""),)} if view in DISCREPANCY_RECORDS else {}
    return Call(user, "discrepancy", f"discrepancy {view}", case, purpose, value=view, sections=sections,
                guard=_known_list)  # fmt: skip


def _known_list(settings: Settings, call: Call) -> None:
    if call.value not in DISCREPANCY_RECORDS:
        raise Refused(f"a discrepancy list is one of {', '.join(DISCREPANCY_RECORDS)}")

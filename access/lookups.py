"""The investigators' lookups: fixed queries over the shared views, read like any other query.

They go through the same plan, masking and audit as free SQL (:mod:`access.reader`); being fixed,
their plans are computed once per process. Sensitive sections (health: the death date) come out
``[hidden]`` unless the case holds a grant for ``health.patients``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from access.users import User


@dataclass
class Call:
    user: User
    command: str
    text: str  # the query, or the lookup and its argument, as recorded
    case: str | None = None
    purpose: str | None = None
    queries: dict[str, tuple[str, dict]] = field(default_factory=dict)  # section -> (SQL, parameters)


PERSON = {
    "person": "SELECT * FROM shared.person WHERE id_number = $id",
    "phones": "SELECT msisdn, carrier, status, activated_at, cancelled_at FROM shared.phone WHERE id_number = $id",
    "rentals": "SELECT dataset, rental_key, address_code, address, start_date, end_date FROM shared.rental "
    "WHERE tenant_id_number = $id",
    "deaths": "SELECT 'dead_but_registered' AS finding, deceased_at FROM shared.dead_but_registered "
    "WHERE id_number = $id UNION ALL SELECT 'dead_with_active_phone', deceased_at "
    "FROM shared.dead_with_active_phone WHERE id_number = $id",
    "duplicate_registrations": "SELECT household_id, address_code FROM shared.duplicate_registration "
    "WHERE id_number = $id",
}
ADDRESS = {
    "address": "SELECT * FROM shared.address WHERE address_code = $code",
    "rentals": "SELECT dataset, rental_key, tenant_id_number, tenant_name, start_date, end_date FROM shared.rental "
    "WHERE address_code = $code",
    "tenants_not_registered": "SELECT rental_key, tenant_id_number, tenant_name FROM shared.tenant_not_registered "
    "WHERE address_code = $code",
    "duplicate_registrations": "SELECT resident_id, id_number, household_id FROM shared.duplicate_registration "
    "WHERE address_code = $code",
}
PHONE = {
    "phone": "SELECT * FROM shared.phone WHERE msisdn = $number",
    "deaths": "SELECT id_number, deceased_at FROM shared.dead_with_active_phone WHERE msisdn = $number",
}


def person(user: User, id_number: str, case: str | None, purpose: str | None) -> Call:
    value = id_number.strip().upper()
    queries = {k: (sql, {"id": value}) for k, sql in PERSON.items()}
    return Call(user, "person", f"person {value}", case, purpose, queries)


def address(user: User, code: str, case: str | None, purpose: str | None) -> Call:
    value = code.strip()
    return Call(
        user, "address", f"address {value}", case, purpose, {k: (s, {"code": value}) for k, s in ADDRESS.items()}
    )


def phone(user: User, number: str, case: str | None, purpose: str | None) -> Call:
    digits = re.sub(r"\D", "", number)
    value = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    return Call(user, "phone", f"phone {value}", case, purpose, {k: (s, {"number": value}) for k, s in PHONE.items()})


def query(user: User, sql: str, case: str | None, purpose: str | None) -> Call:
    return Call(user, "query", sql, case, purpose, {"result": (sql, {})})


def engineer_sql(user: User, sql: str) -> Call:
    return Call(user, "sql", sql, None, None, {"result": (sql, {})})

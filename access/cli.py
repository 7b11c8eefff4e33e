"""``xgate person|address|phone|query|sql`` and ``xgate grant ...`` / ``xgate audit ...``.

Every command names its user (``--user`` or ``XGATE_USER``); every one of them, allowed or refused,
leaves a record in the audit chain. Refusals exit 2 with one line saying why.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from access import lookups, users
from access.users import Refused, User
from xgate.settings import get_settings

console = Console()
grant_app = typer.Typer(help="Conditional sharing: a case asks for a dataset's sensitive fields; an admin approves.")
audit_app = typer.Typer(help="The tamper-evident read audit: verify the chain, answer a data subject.")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


UserOpt = Annotated[str | None, typer.Option("--user", help="Who is calling (default XGATE_USER).")]
CaseOpt = Annotated[str | None, typer.Option("--case", help="Case number the read belongs to (required).")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", help="Why the read is needed (required).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="table, json or csv.")]


def _user(name: str | None, action: str, text: str, case: str | None = None, purpose: str | None = None) -> User:
    """The calling user, allowed ``action``; any refusal is recorded in the audit before it is raised."""
    from access import audit

    settings = get_settings()
    try:
        user = users.resolve(settings, name)
        if action not in users.READS:  # reads are authorised by the reader, inside their own record
            users.authorise(user, action)
        return user
    except Refused as exc:
        entry = {"user": name or settings.user, "role": None, "case": case, "purpose": purpose}
        audit.append(settings, entry | {"command": action, "query": text, "outcome": "refused", "reason": str(exc)})
        raise


def _read(call: lookups.Call, fmt: Format, as_of: int | None = None) -> None:
    from access import output
    from access.reader import Reader

    reader = Reader(get_settings(), as_of)
    try:
        sections = reader.read(call)
    finally:
        reader.close()
    output.render(sections, fmt.value, console)
    if reader.unavailable:
        notes = ", ".join(reader.unavailable)
        Console(stderr=True).print(f"note: not available yet (their departments have not all landed): {notes}")


def person(
    id_number: Annotated[str, typer.Argument(help="Resident ID number.")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
    user: UserOpt = None,
) -> None:
    """A person by ID number: identity, phones, rentals, deaths (health: granted cases only), duplicates."""
    _read(lookups.person(_user(user, "person", f"person {id_number}", case, purpose), id_number, case, purpose), format)


def address(
    code: Annotated[str, typer.Argument(help="Standard address code.")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
    user: UserOpt = None,
) -> None:
    """An address by code: the address, its rentals, tenants not registered there, duplicate registrations."""
    _read(lookups.address(_user(user, "address", f"address {code}", case, purpose), code, case, purpose), format)


def phone(
    number: Annotated[str, typer.Argument(help="Mobile number (+86, spaces and dashes are fine).")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
    user: UserOpt = None,
) -> None:
    """A phone number: its subscriber and, for a granted case, a death health knows of."""
    _read(lookups.phone(_user(user, "phone", f"phone {number}", case, purpose), number, case, purpose), format)


def query(
    sql: Annotated[str, typer.Argument(help="One SELECT over the shared views (shared.person, shared.phone ...).")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
    user: UserOpt = None,
) -> None:
    """Free SQL for investigators over the shared views, checked, masked and audited (first 1,000 rows)."""
    _read(lookups.query(_user(user, "query", sql, case, purpose), sql, case, purpose), format)


def sql(
    query: Annotated[str, typer.Argument(help="One SELECT over raw, conformed, shared, quarantine or meta.")],
    as_of: Annotated[int | None, typer.Option("--as-of", help="Snapshot to read (see 'xgate snapshots').")] = None,
    format: FormatOpt = Format.table,
    user: UserOpt = None,
) -> None:
    """Read-only SQL for engineers (first 1,000 rows), masked by contract like any read, and audited."""
    _read(lookups.engineer_sql(_user(user, "sql", query), query), format, as_of)

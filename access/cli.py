"""``xgate person|address|phone|query|sql`` and ``xgate login|logout|whoami``.

The caller is who they prove to be (:mod:`access.identity`): a sign-in token from ``xgate login``, or
the operating-system account the users file maps. Every command, allowed or refused, leaves a record
in the audit chain; refusals exit 2 with one line saying why.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from access import identity, lookups
from access.users import Refused, User
from xgate.settings import get_settings

console = Console()


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


CaseOpt = Annotated[str | None, typer.Option("--case", help="Case number the read belongs to (required).")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", help="Why the read is needed (required).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="table, json or csv.")]


def caller(action: str, text: str, case: str | None = None, purpose: str | None = None) -> User:
    """The proven caller; a failed proof is recorded in the audit (as the account that tried) and raised."""
    from access import audit

    settings = get_settings()
    try:
        return identity.current(settings)
    except Refused as exc:
        entry = {"user": f"os:{identity.os_account(settings)}", "role": None, "case": case, "purpose": purpose}
        audit.append(settings, entry | {"command": action, "query": text, "outcome": "refused", "reason": str(exc)})
        raise


def _watchdog(call: lookups.Call) -> threading.Timer:
    """The last word on time: should a read outlast every limit (a plan nothing can interrupt), the process
    records it and ends, rather than holding the lake and leaving no word of why."""
    from access import audit

    settings = get_settings()
    limit = settings.query_timeout * 2 + 10

    def stop() -> None:
        reason = f"stopped at the hard limit of {limit:g} s (twice XGATE_QUERY_TIMEOUT, and 10 s)"
        entry = {"user": call.user.name, "role": call.user.role, "case": call.case, "purpose": call.purpose}
        audit.append(
            settings, entry | {"command": call.command, "query": call.text, "outcome": "failed", "reason": reason}
        )
        Console(stderr=True).print(f"error: the read was {reason}", highlight=False)
        os._exit(1)

    timer = threading.Timer(limit, stop)
    timer.daemon = True
    timer.start()
    return timer


def _read(call: lookups.Call, fmt: Format, as_of: int | None = None) -> None:
    from access import output
    from access.reader import Reader

    reader, watchdog = Reader(get_settings(), as_of), _watchdog(call)
    try:
        shown = reader.read(call)
    finally:
        watchdog.cancel()
        reader.close()
    output.render(shown.sections, fmt.value, console)
    for note in shown.notes:
        Console(stderr=True).print(f"note: {note}", highlight=False)


def person(
    id_number: Annotated[str, typer.Argument(help="Resident ID number.")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """A person by ID number: identity, phones, rentals, deaths (health: granted only), duplicates."""
    _read(lookups.person(caller("person", f"person {id_number}", case, purpose), id_number, case, purpose), format)


def address(
    code: Annotated[str, typer.Argument(help="Standard address code.")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """An address by code: the address, its rentals, tenants not registered there, duplicate registrations."""
    _read(lookups.address(caller("address", f"address {code}", case, purpose), code, case, purpose), format)


def phone(
    number: Annotated[str, typer.Argument(help="Mobile number (+86, spaces and dashes are fine).")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """A phone number: its subscriber and, under a grant, a death health knows of."""
    _read(lookups.phone(caller("phone", f"phone {number}", case, purpose), number, case, purpose), format)


def search(
    name: Annotated[str, typer.Argument(help="The person's full name as written (张三).")],
    born: Annotated[str, typer.Argument(help="Their full birth date (YYYY-MM-DD).")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """People by exact name and full birth date: who they are and which departments know them, nothing more."""
    settings = get_settings()
    who = caller("search", lookups.search_text(settings, name, born), case, purpose)
    _read(lookups.search(settings, who, name, born, case, purpose), format)


def discrepancy(
    view: Annotated[str, typer.Argument(help="A discrepancy list: dead_with_active_phone, dead_but_registered, ...")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """The rows of one cross-department discrepancy list, masked (counts alone: 'xgate discrepancies')."""
    _read(lookups.discrepancy(caller("discrepancy", f"discrepancy {view}", case, purpose), view, case, purpose), format)


def query(
    sql: Annotated[str, typer.Argument(help="One SELECT over the shared views (shared.person, shared.phone ...).")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Free SQL for investigators over the shared views: checked, run over masked copies, audited."""
    _read(lookups.query(caller("query", sql, case, purpose), sql, case, purpose), format)


def sql(
    query: Annotated[str, typer.Argument(help="One SELECT over raw, conformed, shared, quarantine or meta.")],
    as_of: Annotated[int | None, typer.Option("--as-of", help="Snapshot to read (see 'xgate snapshots').")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Read-only SQL for engineers, over masked copies like any read, and audited."""
    _read(lookups.engineer_sql(caller("sql", query), query), format, as_of)


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        return password_file.read_text(encoding="utf-8").strip()
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().strip()


def login(
    name: Annotated[str, typer.Argument(help="Your xgate user name.")],
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="Read the password from a file.")
    ] = None,
    print_token: Annotated[bool, typer.Option("--print", help="Print the token (for XGATE_TOKEN) instead.")] = False,
) -> None:
    """Sign in with your password; later commands act as you until the sign-in expires."""
    from access import acts

    settings = get_settings()
    if identity.sudo_caller(settings) is not None:
        raise Refused("under sudo your own OS account is who you are: 'xgate login' is for your own account")
    warn = Console(stderr=True).print
    user = acts.sign_in(
        settings, name, _password(password_file), warn=lambda text: warn(f"warning: {text}", highlight=False)
    )
    token = identity.issue(settings, user)
    if print_token:
        console.out(token)
        return
    where = identity.save_token(token)
    console.print(f"signed in as {user.name} ({user.role}) for {settings.token_hours:g} h; token in {where}")


def logout() -> None:
    """End your sign-in everywhere (a copied token too); the OS account mapping, if any, applies again."""
    settings = get_settings()
    token = settings.token.get_secret_value() if settings.token else None
    if token is None and identity.token_file().exists():
        token = identity.token_file().read_text(encoding="utf-8")
    if token and identity.sudo_caller(settings) is None:
        with contextlib.suppress(Refused, ValueError, KeyError, TypeError):  # an invalid token ends nothing
            identity.sign_out(settings, identity.from_token(settings, token))
    identity.token_file().unlink(missing_ok=True)
    console.print("signed out")


def whoami() -> None:
    """Who xgate takes you for, and how it knows."""
    user = caller("whoami", "whoami")
    console.print(f"{user.name} ({user.role})")

"""``xgate grant request|approve|list`` and ``xgate audit verify|who-read|show``.

These are recorded in the same audit chain as reads: a grant changes what a case may see, and reading
the audit (who looked at whom) is itself a read an auditor answers for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from access import audit, grants
from access.cli import CaseOpt, UserOpt, _user, audit_app, console, grant_app
from access.users import Refused
from access.verify import verify
from xgate.errors import FatalError
from xgate.settings import get_settings


def _done(user, action: str, text: str, case: str | None = None, **extra: object) -> None:
    entry = {"user": user.name, "role": user.role, "case": case, "purpose": None, "command": action, "query": text}
    audit.append(get_settings(), entry | {"outcome": "allowed"} | extra)


@contextmanager
def _refusals(user, action: str, text: str, case: str | None = None) -> Iterator[None]:
    """A refusal after the user was allowed the command (bad request, unknown grant) is recorded too."""
    try:
        yield
    except Refused as exc:
        _done(user, action, text, case, outcome="refused", reason=str(exc))
        raise


@grant_app.command("request")
def grant_request(
    dataset: Annotated[str, typer.Argument(help="Contract dataset whose sensitive fields the case needs.")],
    case: CaseOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why the case needs it.")] = "",
    user: UserOpt = None,
) -> None:
    """Ask for a dataset's sensitive fields for a case (investigators); an admin approves it."""
    who = _user(user, "grant request", f"grant request {dataset}", case)
    with _refusals(who, "grant request", f"grant request {dataset}", case):
        if not case or not reason.strip():
            raise Refused("a grant request needs --case and --reason")
        grant = grants.request(get_settings(), who, case, dataset, reason)
    _done(who, "grant request", f"grant request {dataset} ({reason})", case, grant=grant.id)
    console.print(f"grant {grant.id} requested: {dataset} for case {case}; an admin approves it")


@grant_app.command("approve")
def grant_approve(
    grant_id: Annotated[str, typer.Argument(help="The id 'grant request' printed.")],
    days: Annotated[int, typer.Option("--days", help=f"Valid for this many days (1 to {grants.MAX_DAYS}).")] = 30,
    user: UserOpt = None,
) -> None:
    """Approve a grant request (admins); it expires after --days."""
    who = _user(user, "grant approve", f"grant approve {grant_id}")
    with _refusals(who, "grant approve", f"grant approve {grant_id} --days {days}"):
        grant = grants.approve(get_settings(), who, grant_id, days)
    _done(who, "grant approve", f"grant approve {grant_id} {grant.dataset}", grant.case, grant=grant.id)
    console.print(
        f"grant {grant.id} approved: {grant.dataset} for case {grant.case} until {grant.expires_at:%Y-%m-%d %H:%M} UTC"
    )


@grant_app.command("list")
def grant_list(user: UserOpt = None) -> None:
    """Every grant: pending, valid or expired."""
    _user(user, "grant list", "grant list")
    now = datetime.now(UTC)
    table = Table("id", "case", "dataset", "requested by", "approved by", "expires", "state")
    for g in grants.all_grants(get_settings()):
        state = "pending" if g.approved_at is None else "valid" if g.valid(now) else "expired"
        expires = f"{g.expires_at:%Y-%m-%d %H:%M}" if g.expires_at else "-"
        table.add_row(g.id, g.case, g.dataset, g.requested_by, g.approved_by or "-", expires, state)
    console.print(table)


@audit_app.command("verify")
def audit_verify(user: UserOpt = None) -> None:
    """Check the hash chain: any edit, deletion or reordering is named with its line; exit 1 if broken."""
    who = _user(user, "audit verify", "audit verify")
    verdict = verify(audit.log_path(get_settings()))
    _done(who, "audit verify", "audit verify", verdict=verdict.problem or "intact")
    if not verdict.ok:
        raise FatalError(f"audit log broken ({verdict.problem}) at line {verdict.line}: {verdict.detail}")
    console.print(f"audit log intact: {verdict.records} records chained")


@audit_app.command("who-read")
def audit_who_read(
    id_number: Annotated[str, typer.Argument(help="The data subject's ID number.")], user: UserOpt = None
) -> None:
    """Who looked at this person, when, under which case and purpose (PIPL Art. 45 answers)."""
    settings = get_settings()
    who = _user(user, "audit who-read", "audit who-read")  # the ID itself is recorded only as its hash
    _done(who, "audit who-read", "audit who-read", subjects=[audit.subject_hash(settings, id_number)])
    table = Table("time", "user", "role", "case", "purpose", "command", "outcome")
    for r in audit.who_read(settings, id_number):
        if r["command"] == "audit who-read":
            continue
        cells = (r["time"][:19], r["user"], r["role"], r["case"], r["purpose"], r["command"], r["outcome"])
        table.add_row(*(escape(c or "-") for c in cells))
    console.print(table)


@audit_app.command("show")
def audit_show(
    last: Annotated[int, typer.Option("--last", help="How many of the newest records.")] = 20, user: UserOpt = None
) -> None:
    """The newest audit records: who, role, case, command, outcome, rows, query."""
    who = _user(user, "audit show", f"audit show --last {last}")
    _done(who, "audit show", f"audit show --last {last}")
    table = Table("seq", "time", "user", "role", "case", "command", "outcome", "rows", "query")
    for r in audit.records(get_settings())[-max(last, 0) - 1 : -1]:
        outcome = r.get("reason") or r["outcome"]
        cells = (str(r["seq"]), r["time"][:19], r["user"], r["role"], r["case"], r["command"], outcome)
        table.add_row(*(escape(c or "-") for c in cells), str(r.get("rows", "-")), escape((r["query"] or "")[:60]))
    console.print(table)

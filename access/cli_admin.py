"""``xgate case ...``, ``xgate grant ...``, ``xgate audit ...`` and ``xgate users ...``.

Case and grant commands change what a read may see, and reading the audit (who looked at whom) is itself
a read an auditor answers for: all of them are recorded in the same audit chain as reads, refusals too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated

import typer
from rich.table import Table

from access import acts, audit, grants, identity, ledger, store, users
from access.cli import CaseOpt, caller, console
from access.output import safe
from access.users import Refused, User
from access.verify import verify
from xgate.errors import FatalError
from xgate.settings import get_settings, through_sudo

case_app = typer.Typer(help="Cases: who works one, whose data it sees in full.", no_args_is_help=True)
grant_app = typer.Typer(help="Conditional sharing: a case asks for a dataset's sensitive fields; an admin decides.",
                        no_args_is_help=True)  # fmt: skip
audit_app = typer.Typer(help="The tamper-evident read audit: verify it, answer a data subject.", no_args_is_help=True)
users_app = typer.Typer(help="The users file: set it up, hash a password, check it.", no_args_is_help=True)


@contextmanager
def acting(action: str, text: str, case: str | None = None) -> Iterator[User]:
    """The proven caller, allowed ``action``; the outcome, refused or done, is one audit record."""
    with acts.acting(get_settings(), caller(action, text, case), action, text, case) as who:
        yield who


def operate(action: str) -> None:
    """Running the gateway (sync, report, sandbox ...) through ``sudo -u <service account>`` is a proven
    engineer's act (the auditor's, for the report), recorded like any other: sudo lends the account that
    owns every file, so who borrowed it must be known and allowed. Run as that account itself, nothing is
    lent: whoever runs it can read the files anyway, so only the file permissions stand guard (as for a
    DBA); run as anyone else, the owner-only files refuse."""
    if identity.sudo_caller(get_settings()) is not None:
        with acting(action, f"xgate {action}"):
            pass


def _subject_entry(id_number: str) -> str:
    return acts.subject_text(get_settings(), id_number)


@case_app.command("open")
def case_open(
    number: Annotated[str, typer.Argument(help="The case number.")],
    title: Annotated[str, typer.Option("--title", help="What the case is.")] = "",
) -> None:
    """Open a case (investigators); you are its first member."""
    with acting("case open", f"case open {number}", number) as who:
        grants.open_case(get_settings(), who, number, title)
    console.print(f"case {number} opened; members: {who.name}")


@case_app.command("add-member")
def case_add_member(number: Annotated[str, typer.Argument()], member: Annotated[str, typer.Argument()]) -> None:
    """Add an investigator to a case (its members, or an admin)."""
    with acting("case add-member", f"case add-member {number} {member}", number) as who:
        grants.add_member(get_settings(), who, number, member)
    console.print(f"{member} added to case {number}")


@case_app.command("add-subject")
def case_add_subject(
    number: Annotated[str, typer.Argument()],
    id_number: Annotated[str, typer.Argument(help="The subject's resident ID number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why this person is a subject of the case.")] = "",
) -> None:
    """Make a person a subject of the case: its members then see their personal data in full."""
    with acting("case add-subject", f"case add-subject {number} {_subject_entry(id_number)}", number) as who:
        grants.add_subject(get_settings(), who, number, id_number, reason)
    pending = " once an admin approves" if get_settings().subject_approval else ""
    console.print(f"subject added to case {number}; shown in full to its members{pending}")


@case_app.command("approve-subject")
def case_approve_subject(number: Annotated[str, typer.Argument()], id_number: Annotated[str, typer.Argument()]) -> None:
    """Approve a subject (admins; when XGATE_SUBJECT_APPROVAL is on)."""
    with acting("case approve-subject", f"case approve-subject {number} {_subject_entry(id_number)}", number) as who:
        grants.approve_subject(get_settings(), who, number, id_number)
    console.print(f"subject of case {number} approved")


@case_app.command("list")
def case_list() -> None:
    """Cases you are on (admins and auditors: every case)."""
    with acting("case list", "case list") as who:
        state = ledger.state(get_settings())
    table = Table("case", "title", "opened by", "opened", "members", "subjects")
    for case in state.cases.values():
        if who.role == "investigator" and who.name not in case.members:
            continue
        cells = (case.number, case.title, case.opened_by, f"{case.opened_at:%Y-%m-%d}", ", ".join(sorted(case.members)))
        table.add_row(*map(safe, cells), str(len(case.subjects)))
    console.print(table)


@grant_app.command("request")
def grant_request(
    dataset: Annotated[str, typer.Argument(help="Contract dataset whose sensitive fields the case needs.")],
    case: CaseOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why the case needs it.")] = "",
) -> None:
    """Ask for a dataset's sensitive fields for your case (investigators); an admin decides."""
    with acting("grant request", f"grant request {dataset} ({reason})", case) as who:
        if not case or not reason.strip():
            raise Refused("a grant request needs --case and --reason")
        event = grants.request(get_settings(), who, case, dataset, reason)
    console.print(f"grant {event['grant']} requested: {dataset} for case {case}; an admin decides")


@grant_app.command("approve")
def grant_approve(
    grant_id: Annotated[str, typer.Argument(help="The id 'grant request' printed.")],
    days: Annotated[int, typer.Option("--days", help=f"Valid for this many days (1 to {grants.MAX_DAYS}).")] = 30,
) -> None:
    """Approve a grant request (admins other than the requester); it expires after --days."""
    with acting("grant approve", f"grant approve {grant_id} --days {days}") as who:
        grant = grants.approve(get_settings(), who, grant_id, days)
    console.print(f"grant {grant.id} approved: {grant.dataset} for {grant.requested_by} on case {grant.case} "
                  f"until {grant.expires_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip


@grant_app.command("deny")
def grant_deny(
    grant_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="Why not.")] = "",
) -> None:
    """Deny a grant request (admins)."""
    with acting("grant deny", f"grant deny {grant_id} ({reason})") as who:
        grants.deny(get_settings(), who, grant_id, reason)
    console.print(f"grant {grant_id} denied")


@grant_app.command("list")
def grant_list() -> None:
    """Grants: pending, valid, expired or denied (investigators: their cases')."""
    with acting("grant list", "grant list") as who:
        found = grants.listed(get_settings(), who)
    table = Table("id", "case", "dataset", "for", "decided by", "expires", "state")
    for g, state in found:
        expires = f"{g.expires_at:%Y-%m-%d %H:%M}" if g.expires_at else "-"
        cells = (g.id, g.case, g.dataset, g.requested_by, g.approved_by or g.denied_by or "-", expires, state)
        table.add_row(*map(safe, cells))
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the chain, its anchor and the ledger: any edit, cut, reorder or replaced log is named; exit 1."""
    settings = get_settings()
    who = caller("audit verify", "audit verify")
    with acts.authorised(settings, who, "audit verify", "audit verify"):  # a refusal recorded; the verdict below
        pass
    verdict = verify(settings, acknowledge=True)
    events, ledger_problem = ledger.verify(settings)
    entry = {"user": who.name, "role": who.role, "case": None, "purpose": None, "command": "audit verify"}
    with suppress(audit.AuditDamaged):  # a damaged log cannot record its own verification; the verdict is still told
        audit.append(
            settings, entry | {"query": "audit verify", "outcome": "allowed", "verdict": verdict.problem or "intact"}
        )
    if not verdict.ok:
        raise FatalError(f"audit log broken ({verdict.problem}) at line {verdict.line}: {verdict.detail}")
    if ledger_problem:
        raise FatalError(f"case and grant ledger broken: {ledger_problem}")
    console.print(f"audit log intact: {verdict.records} records chained and anchored; ledger: {events} events")


@audit_app.command("rotate")
def audit_rotate(
    reason: Annotated[str, typer.Option("--reason", help="Why (after a verify found damage).")] = "",
) -> None:
    """Keep a damaged log as evidence and start a new one that says where the old one broke (auditors)."""
    settings = get_settings()
    who = caller("audit rotate", "audit rotate")
    with acts.authorised(settings, who, "audit rotate", f"audit rotate ({reason})"):  # the rotation records itself
        if not reason.strip():
            raise Refused("say why with --reason")
    verdict = verify(settings)
    entry = {"user": who.name, "role": who.role, "case": None, "purpose": None, "command": "audit rotate"}
    kept, _ = audit.rotate(settings, entry | {"query": f"audit rotate ({reason})", "outcome": "allowed"},
                           verdict.summary())  # fmt: skip
    console.print(f"old log kept as {kept.name} ({verdict.problem or 'intact'}); a new log starts after it")


@audit_app.command("who-read")
def audit_who_read(id_number: Annotated[str, typer.Argument(help="The data subject's ID number.")]) -> None:
    """Who looked at this person, when, under which case and purpose (PIPL Art. 45 answers)."""
    settings = get_settings()
    wanted = audit.subject_hash(settings, id_number)
    with acting("audit who-read", f"audit who-read <id:{wanted}>"):
        found = audit.who_read(settings, id_number)
    table = Table("time", "user", "role", "case", "purpose", "command", "outcome", "how")
    for r in found:
        if r["command"].startswith("audit"):
            continue
        how = "named or shown" if wanted in r.get("subjects", ()) else "masked: one of the persons it may be"
        cells = (r["time"][:19], r["user"], r["role"], r["case"], r["purpose"], r["command"], r["outcome"], how)
        table.add_row(*(safe(c or "-") for c in cells))
    console.print(table)


@audit_app.command("show")
def audit_show(last: Annotated[int, typer.Option("--last", help="How many of the newest reads.")] = 20) -> None:
    """The newest reads: who, role, case, command, outcome (incomplete: killed), rows, query."""
    with acting("audit show", f"audit show --last {last}"):
        found = audit.reads(get_settings())
    table = Table("seq", "time", "user", "role", "case", "command", "outcome", "rows", "query")
    for r in found[-max(last, 0) :]:
        outcome = r.get("reason") or r["outcome"]
        cells = (str(r["seq"]), r["time"][:19], r["user"], r["role"], r["case"], r["command"], outcome)
        table.add_row(*(safe(c or "-") for c in cells), str(r.get("rows", "-")), safe((r["query"] or "")[:60]))
    console.print(table)


@users_app.command("hash")
def users_hash() -> None:
    """Read a password on stdin (or the terminal) and print its argon2id hash for the users file."""
    from access.cli import _password

    console.out(identity.hash_password(_password(None)))


@users_app.command("check")
def users_check() -> None:
    """Check the users file entry by entry: each refused entry with its file, line and reason; exit 2 if any."""
    found = users.directory(get_settings())
    for problem in found.problems.values():
        console.print(safe(problem))
    if found.problems:
        raise Refused(f"{len(found.problems)} entries refused; {len(found.users)} users fine")
    console.print(f"{len(found.users)} users, no problem")


@users_app.command("init")
def users_init() -> None:
    """Write a users file with one demo user per role, each with a generated password (files, 0600), and
    map this OS account to the engineer; refuses to overwrite an existing file.

    Only the service account itself may: through sudo the account mapped to the engineer would be the caller,
    anyone sudo lets in, and every password would be new. Every run, done or refused, is an audit record
    (there is no user yet to name: the OS account is)."""
    import secrets

    import yaml

    settings = get_settings()
    path = users.users_path(settings)
    account = os.environ.get("SUDO_USER", "?") if through_sudo() else identity.os_account(settings)
    record = {"user": f"os:{account}", "role": None, "case": None, "purpose": None, "command": "users init",
             "query": "users init" + (" (through sudo)" if through_sudo() else "")}  # fmt: skip
    try:
        if through_sudo():
            raise Refused("users init runs as the service account itself, never through sudo")
        if path.exists():
            raise Refused(f"users file {path} exists; edit it (or set XGATE_USERS_FILE)")
    except Refused as exc:
        audit.append(settings, record | {"outcome": "refused", "reason": audit.scrub(settings, str(exc))})
        raise
    folder = store.private_dir(store.access_dir(settings) / "passwords")
    entries = []
    for role in users.PERMISSIONS:
        password = secrets.token_urlsafe(12)
        (folder / role).touch(mode=0o600)
        (folder / role).write_text(password + "\n", encoding="utf-8")
        entry = {"name": role, "role": role, "password_hash": identity.hash_password(password)}
        entries.append(entry | ({"os_account": identity.os_account(settings)} if role == "engineer" else {}))
    store.private_dir(path.parent)
    path.touch(mode=0o600)
    path.write_text("# Demo users, one per role (xgate users init). Production: your own file.\n"
                    + yaml.safe_dump({"users": entries}, sort_keys=False), encoding="utf-8")  # fmt: skip
    audit.append(settings, record | {"outcome": "allowed"})
    console.print(f"users file {path}: {', '.join(users.PERMISSIONS)}; passwords in {folder}/<name>; "
                  f"this OS account is the engineer")  # fmt: skip

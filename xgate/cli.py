"""The ``xgate`` command. Each capability adds its sub-commands here; errors end as one line."""

from __future__ import annotations

import importlib
import os
import sys

import click
import typer
from typer.core import TyperGroup

from xgate.errors import XgateError, shown

# name -> (module, attribute, one line of help). Loaded only when run: 'xgate --help' imports none of them
# (pyarrow, duckdb, GX and pydantic would cost a second before the first word).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "sources": ("connectors.cli", "sources", "Declared sources and streams, with their checkpoint and last batch."),
    "extract": ("connectors.cli", "extract", "Extract a source into staged Parquet batches with lineage."),
    "validate": ("contracts.cli", "validate", "Check a local file as sync would; nothing is stored."),
    "report": ("contracts.cli", "report", "Write the auditor's data-quality report: one self-contained HTML file."),
    "sync": ("warehouse.cli", "sync", "Extract, validate and land a source in the warehouse."),
    "batches": ("warehouse.cli", "batches_app", "Held and rejected batches: list, release, replay."),
    "contracts": ("contracts.cli", "contracts_app", "Data contracts: check them whole before they are used."),
    "tables": ("warehouse.cli", "tables", "Tables and views of the warehouse with their row counts."),
    "snapshots": ("warehouse.cli", "snapshots", "The warehouse's snapshots: pin any query to one with --as-of."),
    "discrepancies": ("warehouse.cli", "discrepancies", "Rows in each cross-department discrepancy view."),
    "maintain": ("warehouse.cli", "maintain", "Expire old snapshots and merge small files."),
    "doctor": ("xgate.doctor", "command", "Check a profile before use: catalog, storage, Airflow metadata, workers."),
    "sql": ("access.cli", "sql", "Read-only SQL for engineers, over masked copies like any read, and audited."),
    "person": ("access.cli", "person", "A person by ID number: identity, phones, rentals, deaths, duplicates."),
    "address": ("access.cli", "address", "An address by code: its rentals, tenants, duplicate registrations."),
    "phone": ("access.cli", "phone", "A phone number: its subscriber and, under a grant, a death health knows of."),
    "search": ("access.cli", "search", "People by exact name and full birth date, with their records (no ID shown)."),
    "discrepancy": ("access.cli", "discrepancy", "The rows of one discrepancy list, masked, under a case."),
    "query": ("access.cli", "query", "Free SQL for investigators over the shared views: checked, masked, audited."),
    "login": ("access.cli", "login", "Sign in with your password; later commands act as you until it expires."),
    "logout": ("access.cli", "logout", "Forget this account's sign-in."),
    "whoami": ("access.cli", "whoami", "Who xgate takes you for, and how it knows."),
    "sandbox": ("sandbox.cli", "app", "The department sandbox: a synthetic population served as departments do."),
    "case": ("access.cli_admin", "case_app", "Cases: who works one, whose data it sees in full."),
    "link": ("linkage.cli", "app", "Link one person's records across departments (数据碰撞)."),
    "grant": ("access.cli_admin", "grant_app", "Conditional sharing: a case asks for fields; an admin decides."),
    "audit": ("access.cli_admin", "audit_app", "The tamper-evident read audit: verify it, answer a data subject."),
    "users": ("access.cli_admin", "users_app", "The users file: set it up, hash a password, check it."),
    "web": ("web.cli", "web", "Serve the web workbench for investigators, auditors, admins and engineers."),
}


class LazyGroup(TyperGroup):
    """The ``xgate`` group: a command's module is imported when the command runs, not to list it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if ctx.resilient_parsing or getattr(ctx, "_listing", False):  # help and completion: name and line only
            return click.Command(name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])
        module, attribute, _ = COMMANDS[name]
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            command = typer.main.get_group(target)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = name
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx._listing = True  # type: ignore[attr-defined]
        super().format_help(ctx, formatter)


app = typer.Typer(
    cls=LazyGroup,
    help="xgate: the cross-department data-sharing gateway.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _operators_only(ctx: typer.Context) -> None:
    """Operating commands through sudo need a proven engineer (``link`` checks its own: ``link file`` is a read)."""
    from access.users import OPERATIONS
    from xgate.settings import through_sudo

    if ctx.invoked_subcommand in OPERATIONS - {"link"} and through_sudo():  # else no one is lent the account
        from access import cli_admin

        cli_admin.operate(ctx.invoked_subcommand)


def _stderr():
    from rich.console import Console

    return Console(stderr=True)


def main() -> None:
    """Entry point: every error prints one line (secrets cut out) and exits with its documented code; a
    traceback only with ``--debug``."""
    os.umask(0o077)  # what xgate writes (lake, audit, ledger, state) is its own account's alone
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv.remove("--debug")
    try:
        code = _run()
    except XgateError as exc:
        if debug:
            raise
        _stderr().print(f"[bold red]error:[/] {shown(str(exc))}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _run() -> object:
    """The command, with every failure turned into an :class:`XgateError` (or a usage exit)."""
    try:
        return app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: bad option, bad value, missing argument
        show = getattr(exc, "show", None)
        show() if show else _stderr().print(f"error: {exc}")
        sys.exit(getattr(exc, "exit_code", 2))
    except XgateError:
        raise
    except Exception as exc:
        raise _one_line(exc) from exc


def _one_line(exc: Exception) -> XgateError:
    """Any failure as an :class:`XgateError` with one line and its exit code."""
    import sqlite3

    from pydantic import ValidationError

    from xgate.errors import Busy, from_os_error, unexpected
    from xgate.settings import invalid_setting

    if isinstance(exc, ValidationError):  # a bad XGATE_* setting: name it, never echo its value (it may be a secret)
        return invalid_setting(exc)
    if isinstance(exc, OSError):
        return from_os_error(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return Busy("the state ledger stayed locked by another xgate command: try again when it ends")
    return unexpected(exc)  # a fault xgate did not foresee: still one line, the traceback with --debug

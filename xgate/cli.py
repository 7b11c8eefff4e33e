"""The ``xgate`` command. Each capability adds its sub-commands here; errors end as one line."""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from access import cli as access_cli
from access import cli_admin
from access.users import OPERATIONS
from connectors import cli as connectors_cli
from contracts import cli as contracts_cli
from linkage.cli import app as link_app
from sandbox.cli import app as sandbox_app
from warehouse import cli as warehouse_cli
from xgate.errors import XgateError
from xgate.settings import invalid_setting

app = typer.Typer(
    help="xgate: the cross-department data-sharing gateway.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(sandbox_app, name="sandbox")
app.command()(connectors_cli.sources)
app.command()(connectors_cli.extract)
app.command()(contracts_cli.validate)
app.command()(contracts_cli.report)
app.command()(warehouse_cli.sync)
app.command()(warehouse_cli.tables)
app.command()(warehouse_cli.snapshots)
app.command()(warehouse_cli.discrepancies)
app.command()(warehouse_cli.maintain)
app.command()(access_cli.sql)
app.command()(access_cli.person)
app.command()(access_cli.address)
app.command()(access_cli.phone)
app.command()(access_cli.query)
app.command()(access_cli.login)
app.command()(access_cli.logout)
app.command()(access_cli.whoami)
app.add_typer(cli_admin.case_app, name="case")
app.add_typer(link_app, name="link")
app.add_typer(cli_admin.grant_app, name="grant")
app.add_typer(cli_admin.audit_app, name="audit")
app.add_typer(cli_admin.users_app, name="users")
_stderr = Console(stderr=True)


@app.command()
def doctor() -> None:
    """Check this profile before use: the lake's catalog and storage, Airflow's metadata database and the
    Celery workers (when configured). One line per part; exit 1 if any has a problem."""
    from xgate.doctor import doctor as run_doctor
    from xgate.settings import get_settings

    findings = run_doctor(get_settings())
    out = Console(highlight=False, soft_wrap=True)
    for finding in findings:
        out.print(finding.line(), style=None if finding.ok else "bold red", markup=False)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


@app.callback()
def _operators_only(ctx: typer.Context) -> None:
    """Operating commands through sudo need a proven engineer (``link`` checks its own: ``link file`` is a read)."""
    if ctx.invoked_subcommand in OPERATIONS - {"link"}:
        cli_admin.operate(ctx.invoked_subcommand)


def main() -> None:
    """Entry point: a known error prints one line and exits non-zero, never a traceback."""
    os.umask(0o077)  # what xgate writes (lake, audit, ledger, state) is its own account's alone
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: bad option, bad value, missing argument
        show = getattr(exc, "show", None)
        show() if show else _stderr.print(f"error: {exc}")
        sys.exit(getattr(exc, "exit_code", 2))
    except ValidationError as exc:  # a bad XGATE_* setting: name it, never echo its value (it may be a secret)
        _stderr.print(f"[bold red]error:[/] {invalid_setting(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except XgateError as exc:
        _stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

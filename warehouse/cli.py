"""``xgate sync``, ``xgate tables`` and ``xgate snapshots``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from warehouse import lake
from xgate.progress import progress
from xgate.settings import get_settings

console = Console()


def sync(
    source: Annotated[str, typer.Argument(help="Declared source name (see 'xgate sources').")],
    stream: Annotated[str | None, typer.Option(help="Only this stream.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-read everything; lands only what is newer.")] = False,
    since: Annotated[datetime | None, typer.Option(help="Backfill records modified from this time.")] = None,
    until: Annotated[datetime | None, typer.Option(help="Backfill up to (excluding) this time.")] = None,
) -> None:
    """Extract, validate and land a source in the warehouse; the checkpoint moves after the lake commits.

    With --since and --until, a backfill of that interval: it lands what is newer and leaves the
    incremental checkpoint alone (as an Airflow backfill run of the source's DAG does).
    """
    from connectors.cli import extract_mode, report_files
    from warehouse.sync import sync as run_sync

    mode = extract_mode(full, since, until)
    settings = get_settings()
    table = Table("stream", "batch", "extracted", "passed", "quarantined", "landed", "held")
    with progress() as step:
        results = run_sync(settings, source, stream, mode, since, until, step)
    for result in results:
        table.add_row(
            result.stream,
            result.batch_id,
            f"{result.extracted:,}",
            f"{result.passed:,}",
            f"{result.quarantined:,}",
            f"{result.landed:,}",
            "rejected" if result.rejected else result.held or "-",
        )
    console.print(table)
    code = report_files(settings, source, stream, results)
    if code:
        raise typer.Exit(code)


def tables() -> None:
    """Tables and views of the warehouse with their row counts."""
    con = lake.connect(get_settings(), read_only=True)
    listing = Table("schema", "name", "kind", "rows")
    for schema, name, kind in con.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        f"WHERE table_catalog = '{lake.LAKE}' ORDER BY 1, 2"
    ).fetchall():
        rows = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
        listing.add_row(schema, name, "view" if kind == "VIEW" else "table", f"{rows:,}")
    console.print(listing)


def snapshots() -> None:
    """The warehouse's snapshots: pin any query to one with --as-of."""
    con = lake.connect(get_settings(), read_only=True)
    listing = Table("snapshot", "time", "changes")
    for snapshot, at, changes in con.execute(
        f"SELECT snapshot_id, snapshot_time, changes FROM ducklake_snapshots('{lake.LAKE}') ORDER BY 1"
    ).fetchall():
        listing.add_row(str(snapshot), at.isoformat(timespec="seconds"), str(changes)[:100])
    console.print(listing)


def discrepancies(
    as_of: Annotated[int | None, typer.Option("--as-of", help="Snapshot to read (see 'xgate snapshots').")] = None,
) -> None:
    """Rows in each cross-department discrepancy view."""
    from warehouse.model import DISCREPANCIES

    con = lake.connect(get_settings(), read_only=True, as_of=as_of)
    listing = Table("view", "rows", title="discrepancies" + (f" as of {as_of}" if as_of else ""))
    for view in DISCREPANCIES:
        try:
            rows = f"{con.execute(f'SELECT count(*) FROM {view}').fetchone()[0]:,}"
        except duckdb.CatalogException:  # not published yet: its sources have not all landed
            rows = "-"
        listing.add_row(view, rows)
    console.print(listing)


def maintain(
    keep_days: Annotated[int, typer.Option(help="Keep snapshots this many days for --as-of.")] = 30,
) -> None:
    """Expire old snapshots and merge small files. Quarantine and audit rows are never deleted by it."""
    con = lake.connect(get_settings())
    try:
        con.execute(
            f"CALL ducklake_expire_snapshots('{lake.LAKE}', older_than => now() - INTERVAL {int(keep_days)} DAY)"
        )
        con.execute(f"CALL ducklake_merge_adjacent_files('{lake.LAKE}')")
        con.execute(f"CALL ducklake_cleanup_old_files('{lake.LAKE}', cleanup_all => true)")
    finally:
        con.close()
    console.print(f"expired snapshots older than {keep_days} days, merged small files, removed unreferenced files")


batches_app = typer.Typer(
    help="Held and rejected batches: list them, release a held one, replay one after a fix.",
    invoke_without_command=True,
)


@batches_app.callback()
def batches(
    ctx: typer.Context,
    every: Annotated[bool, typer.Option("--all", help="Every batch, landed ones too.")] = False,
) -> None:
    """Held and rejected batches with their reasons (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    from warehouse.batches import listing

    table = Table("batch", "dataset", "status", "rows", "passed", "quarantined", "reason", "at")
    for b in listing(get_settings(), every):
        table.add_row(b.batch_id, b.dataset, b.status, f"{b.rows_in:,}", f"{b.rows_passed:,}",
                      f"{b.rows_quarantined:,}", b.reason or "-", b.at[:19])  # fmt: skip
    console.print(table)


@batches_app.command("release")
def batches_release(batch_id: Annotated[str, typer.Argument(help="A held batch (see 'xgate batches').")]) -> None:
    """After review, land a held batch as it is: rows passing every error rule land, the rest stay quarantined."""
    from access.cli_admin import acting
    from warehouse.batches import release

    with acting("batches release", f"batches release {batch_id}"):
        landed = release(get_settings(), batch_id)
    console.print(f"released {batch_id}: {landed.rows_landed:,} rows landed")


@batches_app.command("replay")
def batches_replay(
    batch_id: Annotated[str, typer.Argument(help="A held, rejected or partly quarantined batch.")],
) -> None:
    """After a fix (a contract, a corrected file), validate again and land what passes now."""
    from access.cli_admin import acting
    from warehouse.batches import replay

    with acting("batches replay", f"batches replay {batch_id}"):
        done = replay(get_settings(), batch_id)
    state = "rejected: " + done.rejected if done.rejected else ("held: " + done.held if done.held else "landed")
    console.print(f"replayed {batch_id} as {done.batch_id}: {done.landed:,} rows landed, "
                  f"{done.quarantined:,} quarantined ({state})")  # fmt: skip

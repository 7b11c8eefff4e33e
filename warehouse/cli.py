"""``xgate sync``, ``xgate tables`` and ``xgate snapshots``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from warehouse import lake
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
    results = run_sync(settings, source, stream, mode, since, until)
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

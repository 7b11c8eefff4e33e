"""``xgate sources`` and ``xgate extract``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors import declarations
from xgate.errors import EXIT_HELD, EXIT_REJECTED, ConfigError
from xgate.settings import Settings, get_settings

console = Console()


def sources() -> None:
    """Declared sources and streams, with their checkpoint and last batch."""
    from connectors.state import StateStore
    from contracts.checks import contracts

    settings = get_settings()
    keys = {c.source: c.primary_key for c in contracts().values()}
    state = StateStore(settings.state_dir)
    table = Table("source", "kind", "schedule", "stream", "key", "cursor", "checkpoint", "last batch")
    for source in declarations.sources(settings.sources_dir).values():
        last = {row["stream"]: row for row in state.last_batches(source.name)}
        for stream in source.streams:
            checkpoint = state.checkpoint(source.name, stream.name).cursor or "-"
            batch = last.get(stream.name)
            summary = f"{batch['status']} {batch['rows']:,} rows {batch['started_at'][:19]}" if batch else "-"
            table.add_row(
                source.name,
                source.kind,
                source.schedule,
                stream.name,
                keys.get(f"{source.name}.{stream.name}", "(no contract)"),
                stream.cursor_field or "(files)",
                checkpoint,
                summary,
            )
    console.print(table)


def extract_mode(full: bool, since: datetime | None, until: datetime | None) -> str:
    """The extract mode the --full / --since / --until options ask for."""
    if full and (since or until):
        raise ConfigError("--full and --since/--until exclude each other")
    if (since is None) != (until is None):
        raise ConfigError("a backfill needs both --since and --until")
    return "full" if full else "backfill" if since else "incremental"


def extract(
    source: Annotated[str, typer.Argument(help="Declared source name (see 'xgate sources').")],
    stream: Annotated[str | None, typer.Option(help="Only this stream.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Read everything; leaves the checkpoint alone.")] = False,
    since: Annotated[datetime | None, typer.Option(help="Backfill from this modification time.")] = None,
    until: Annotated[datetime | None, typer.Option(help="Backfill up to (excluding) this time.")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Treat staging as landed: move the checkpoint.")] = False,
) -> None:
    """Extract a source into staged Parquet batches with lineage."""
    from connectors import runner
    from xgate.progress import progress

    mode = extract_mode(full, since, until)
    settings = get_settings()
    table = Table("batch", "mode", "rows", "schema changes", "staged at")
    with progress() as step:
        results = runner.extract(settings, source, stream, mode, since, until, step)
    for result in results:
        if commit and not result.rejected:
            runner.commit(settings, result.batch_id)
        table.add_row(result.batch_id, result.mode, f"{result.rows:,}", str(result.schema_changes or "-"), result.path)
    console.print(table)
    code = report_files(settings, source, stream, results)
    if code:
        raise typer.Exit(code)


def report_files(settings: Settings, source: str, stream: str | None, results: list) -> int:
    """Print every rejected file, held batch, skipped file and left-out row, one line each (on stderr, so a
    script reading the table still sees them); the exit code they call for (0: none)."""
    from connectors.runner import skipped_files

    err = Console(stderr=True, soft_wrap=True, highlight=False)
    code = 0
    for result in results:
        if result.rejected:
            err.print(f"[red]rejected[/] batch {result.batch_id}: {result.rejected}")
            code = max(code, EXIT_REJECTED)
        elif getattr(result, "held", ""):
            err.print(f"[red]held[/] batch {result.batch_id}: {result.held}")
            code = max(code, EXIT_HELD)
        for note in result.notes:
            err.print(f"[yellow]note[/] {note}")
    for name, why in skipped_files(settings, source, stream).items():
        err.print(f"[yellow]skipped[/] {name}: {why}")
    if code:
        err.print("see 'xgate batches'; after a fix: 'xgate batches replay ID' (or 'release ID' to land a held one)")
    return code

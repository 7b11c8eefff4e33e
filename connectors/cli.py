"""``xgate sources`` and ``xgate extract``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors import declarations
from xgate.errors import ConfigError
from xgate.settings import get_settings

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

    mode = extract_mode(full, since, until)
    settings = get_settings()
    table = Table("batch", "mode", "rows", "schema changes", "staged at")
    for result in runner.extract(settings, source, stream, mode, since, until):
        if commit:
            runner.commit(settings, result.batch_id)
        table.add_row(result.batch_id, result.mode, f"{result.rows:,}", str(result.schema_changes or "-"), result.path)
        for name, reason in result.rejected_files.items():
            console.print(f"[yellow]rejected[/] {name}: {reason}")
    console.print(table)

"""One extraction of one stream: read, filter against the checkpoint, stage, record.

Modes: ``incremental`` (from the landed checkpoint minus the look-back window, skipping rows already
landed), ``full`` (everything) and ``backfill`` (a modification-time range). Only an incremental batch
carries a pending checkpoint; full and backfill batches land without touching the incremental state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa

from connectors import declarations, staging
from connectors.connections import resolve
from connectors.declarations import Source, Stream
from connectors.fhir import FhirReader
from connectors.files import FileReader, archive
from connectors.reader import Bounds, Reader
from connectors.records import iso, parse_offset, to_instant
from connectors.rest import RestReader
from connectors.sql import SqlReader
from connectors.state import Checkpoint, StateStore
from xgate.errors import ConfigError
from xgate.settings import Settings

Mode = Literal["incremental", "full", "backfill"]
READERS = {"rest": RestReader, "fhir": FhirReader, "sql": SqlReader, "files": FileReader}


@dataclass
class BatchResult:
    batch_id: str
    source: str
    stream: str
    mode: Mode
    rows: int
    path: str
    schema_changes: dict = field(default_factory=dict)
    rejected_files: dict[str, str] = field(default_factory=dict)


class _Window:
    """Tracks the newest (cursor, key) seen and the (key, cursor) pairs inside the look-back window."""

    def __init__(self, lookback: timedelta) -> None:
        self.lookback = lookback
        self.newest: tuple[datetime, str] | None = None
        self.pairs: list[tuple[datetime, str]] = []

    def observe(self, instants: list[datetime], keys: list[str]) -> None:
        for pair in zip(instants, keys):
            if self.newest is None or pair > self.newest:
                self.newest = pair
        floor = self.newest[0] - self.lookback if self.newest else None
        self.pairs += [p for p in zip(instants, keys) if floor is None or p[0] >= floor]
        if len(self.pairs) > 50_000:
            self.pairs = [p for p in self.pairs if p[0] >= floor]

    def pending(self, checkpoint: Checkpoint) -> dict:
        if self.newest is None:
            return {}
        newest = max((iso(self.newest[0]), self.newest[1]), (checkpoint.cursor or "", checkpoint.key or ""))
        floor = iso(datetime.fromisoformat(newest[0]) - self.lookback)
        return {
            "cursor": newest[0],
            "key": newest[1],
            "window_floor": floor,
            "window": sorted({(k, iso(t)) for t, k in self.pairs if iso(t) >= floor}),
        }


def schema_changes(before: dict[str, str], after: dict[str, str]) -> dict:
    """Columns added, dropped or retyped since the last landed batch (empty when nothing changed)."""
    if not before or not after:
        return {}
    changes = {
        "added": sorted(set(after) - set(before)),
        "dropped": sorted(set(before) - set(after)),
        "retyped": {c: [before[c], after[c]] for c in sorted(set(before) & set(after)) if before[c] != after[c]},
    }
    return {k: v for k, v in changes.items() if v}


def extract_stream(
    settings: Settings,
    source: Source,
    stream: Stream,
    mode: Mode = "incremental",
    since: datetime | None = None,
    until: datetime | None = None,
) -> BatchResult:
    state = StateStore(settings.state_dir)
    checkpoint = state.checkpoint(source.name, stream.name)
    staging.sweep_partials(settings, source.name, stream.name)
    zone = parse_offset(settings.source_timezone)
    bounds, seen = Bounds(), set()
    if mode == "backfill":
        if since is None or until is None or since >= until:
            raise ConfigError("a backfill needs --since before --until")
        bounds = Bounds(to_instant(since, zone), to_instant(until, zone))
    elif mode == "incremental" and checkpoint.cursor and stream.cursor_field:
        bounds = Bounds(datetime.fromisoformat(checkpoint.cursor) - stream.lookback)
        seen = {tuple(p) for p in checkpoint.window}
    reader: Reader = READERS[source.kind](source, stream, resolve(source.connection, settings), settings)
    batch_id = staging.new_batch_id(source.name, stream.name)
    state.begin(batch_id, source.name, stream.name, mode)
    writer = staging.BatchWriter(settings, source.name, stream.name, batch_id)
    window = _Window(stream.lookback)
    kinds: dict[str, str] = {}
    try:
        for chunk in reader.read(bounds):
            rows, origin = chunk.rows, chunk.origin
            for name, kind in chunk.kinds.items():
                kinds.setdefault(name, kind)
            if stream.cursor_field and rows.num_rows:
                keys = [str(k) for k in rows[stream.primary_key].to_pylist()]
                instants = [to_instant(v, zone) for v in rows[stream.cursor_field].to_pylist()]
                keep = [(k, iso(t)) not in seen for k, t in zip(keys, instants)]
                window.observe(instants, keys)
                if not all(keep):
                    rows = rows.filter(pa.array(keep))
                    origin = origin if isinstance(origin, str) else [o for o, k in zip(origin, keep) if k]
            writer.write(rows, origin)
        changes = schema_changes(checkpoint.schema, kinds)
        pending = window.pending(checkpoint) if mode == "incremental" else {}
        pending["schema"] = kinds
        extra = {}
        if isinstance(reader, FileReader):
            pending["files"] = list(reader.taken)
            extra = {"files": reader.taken, "rejected_files": reader.rejected}
        meta = {
            "mode": mode,
            "schema_changes": changes,
            "primary_key": stream.primary_key,
            "cursor_field": stream.cursor_field,
            "write_mode": stream.write_mode,
            "bounds": [iso(b) if b else None for b in (bounds.since, bounds.until)],
        } | extra
        path = writer.close(meta)
        state.staged(batch_id, writer.rows, pending)
    except BaseException as exc:
        writer.abort()
        state.failed(batch_id, str(exc) or type(exc).__name__)
        raise
    finally:
        reader.close()
    return BatchResult(
        batch_id, source.name, stream.name, mode, writer.rows, str(path), changes, getattr(reader, "rejected", {})
    )


def extract(
    settings: Settings,
    source_name: str,
    stream_name: str | None = None,
    mode: Mode = "incremental",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[BatchResult]:
    source = declarations.source(source_name, settings.sources_dir)
    streams = [source.stream(stream_name)] if stream_name else list(source.streams)
    return [extract_stream(settings, source, s, mode, since, until) for s in streams]


def commit(settings: Settings, batch_id: str) -> None:
    """Called once the batch has landed: advance the checkpoint and archive the files it came from."""
    manifest = staging.batch_manifest(settings, batch_id)
    StateStore(settings.state_dir).commit(batch_id)
    if manifest.get("files"):
        source = declarations.source(manifest["source"], settings.sources_dir)
        archive(Path(resolve(source.connection, settings).url), list(manifest["files"]))

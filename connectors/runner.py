"""One extraction of one stream: read, filter against the checkpoint, stage, record.

Modes: ``incremental`` (from the landed checkpoint minus the look-back window, skipping rows already
landed), ``full`` (everything) and ``backfill`` (a modification-time range). Only an incremental batch
carries a pending checkpoint; full and backfill batches land without touching the incremental state.
A ``replace`` stream is read whole every time (each batch becomes the table). The window is also kept
here, row by row, for sources that cannot filter on modification time themselves (an API without an
``until`` parameter, a bulk export). The primary key is the dataset contract's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from connectors import declarations, staging
from connectors.connections import resolve
from connectors.declarations import Source, Stream
from connectors.fhir import FhirReader
from connectors.files import FileReader, archive
from connectors.locks import source_lock
from connectors.reader import Bounds, Reader
from connectors.records import NO_CURSOR, cursor_micros, iso, micros_iso, parse_offset, to_instant
from connectors.rest import RestReader
from connectors.sql import SqlReader
from connectors.state import Checkpoint, StateStore
from contracts.checks import for_source
from xgate.errors import ConfigError
from xgate.progress import quiet
from xgate.settings import Settings

Mode = Literal["incremental", "full", "backfill"]
READERS = {"rest": RestReader, "fhir": FhirReader, "files": FileReader}


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
    notes: list[str] = field(default_factory=list)  # what a file reader left out (title rows, a totals row)

    @property
    def rejected(self) -> str:
        """Why the batch's one file was rejected whole ('' when it was read)."""
        return "; ".join(self.rejected_files.values())


class _Window:
    """The newest (cursor, key) seen, and the (key, cursor) pairs inside the look-back window.

    Cursors are UTC microseconds (numpy); only rows near the newest are turned into Python pairs.
    """

    def __init__(self, lookback: timedelta) -> None:
        self.span = int(lookback.total_seconds() * 1_000_000)
        self.newest: tuple[int, str] | None = None
        self.pairs: list[tuple[int, str]] = []

    def observe(self, micros: np.ndarray, keys: pa.ChunkedArray) -> None:
        keep = np.flatnonzero(micros != NO_CURSOR)
        if len(keep) < len(micros):
            micros, keys = micros[keep], keys.take(keep)
        if not len(micros):
            return
        top = int(micros.max())
        top_key = max(str(k) for k in keys.take(np.flatnonzero(micros == top)).to_pylist())
        if self.newest is None or (top, top_key) > self.newest:
            self.newest = (top, top_key)
        floor = self.newest[0] - self.span
        near = np.flatnonzero(micros >= floor)
        self.pairs += list(zip(micros[near].tolist(), map(str, keys.take(near).to_pylist())))
        if len(self.pairs) > 100_000:
            self.pairs = [p for p in self.pairs if p[0] >= floor]

    def pending(self, checkpoint: Checkpoint) -> dict:
        if self.newest is None:
            return {}
        newest = max((micros_iso(self.newest[0]), self.newest[1]), (checkpoint.cursor or "", checkpoint.key or ""))
        floor = micros_iso(int(datetime.fromisoformat(newest[0]).timestamp() * 1_000_000) - self.span)
        pairs = {(k, micros_iso(t)) for t, k in self.pairs}
        return {
            "cursor": newest[0],
            "key": newest[1],
            "window_floor": floor,
            "window": sorted(p for p in pairs if p[1] >= floor),
        }


def _already_landed(
    micros: np.ndarray, keys: pa.ChunkedArray, seen: set[tuple[str, str]], seen_until: int
) -> np.ndarray:
    """Rows whose exact (key, cursor) already landed: re-read inside the look-back window, unchanged."""
    landed = np.zeros(len(micros), dtype=bool)
    candidates = np.flatnonzero(micros <= seen_until)
    for i, key, at in zip(candidates, keys.take(candidates).to_pylist(), micros[candidates].tolist()):
        landed[i] = (str(key), micros_iso(at)) in seen
    return landed


def _outside(micros: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Rows whose modification time falls outside the window (rows without one are always kept)."""
    outside = np.zeros(len(micros), dtype=bool)
    for bound, before in ((bounds.since, True), (bounds.until, False)):
        if bound is not None:
            edge = int(bound.timestamp() * 1_000_000)
            outside |= (micros != NO_CURSOR) & ((micros < edge) if before else (micros >= edge))
    return outside


def open_reader(source: Source, stream: Stream, key: str, settings: Settings, file: str | None = None) -> Reader:
    connection = resolve(source.connection, settings)
    if source.kind == "sql":
        return SqlReader(source, stream, key, connection, settings)
    if source.kind == "files":
        return FileReader(source, stream, connection, settings, only=file)
    return READERS[source.kind](source, stream, connection, settings)


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
    file: str | None = None,
    step: Callable[[str], None] = quiet,
) -> BatchResult:
    """Stage one batch of a stream; for a file drop, ``file`` is the one file the batch reads. ``step``
    hears each page (the CLI shows it as progress)."""
    state = StateStore(settings.state_dir)
    checkpoint = state.checkpoint(source.name, stream.name)
    staging.sweep_partials(settings, source.name, stream.name)
    zone = parse_offset(settings.source_timezone)
    key = for_source(source.name, stream.name).primary_key
    bounds, seen, seen_until = Bounds(), set(), 0
    if mode == "backfill":
        if since is None or until is None or since >= until:
            raise ConfigError("a backfill needs --since before --until")
        if stream.write_mode == "replace":
            raise ConfigError(f"{source.name}.{stream.name} replaces its table with each batch: it has no backfill")
        bounds = Bounds(to_instant(since, zone), to_instant(until, zone))
    elif mode == "incremental" and checkpoint.cursor and stream.cursor_field and stream.write_mode != "replace":
        bounds = Bounds(datetime.fromisoformat(checkpoint.cursor) - stream.lookback)
        seen = {tuple(p) for p in checkpoint.window}
        seen_until = int(datetime.fromisoformat(checkpoint.cursor).timestamp() * 1_000_000)
    reader = open_reader(source, stream, key, settings, file)
    batch_id = staging.new_batch_id(source.name, stream.name)
    state.begin(batch_id, source.name, stream.name, mode, file)
    writer = staging.BatchWriter(settings, source.name, stream.name, batch_id)
    window = _Window(stream.lookback)
    kinds: dict[str, str] = {}
    try:
        for page, chunk in enumerate(reader.read(bounds), start=1):
            where = f"{source.name}.{stream.name}" + (f" {file}" if file else "")
            step(f"extracting {where}: page {page:,}, {writer.rows:,} rows")
            rows, origin = chunk.rows, chunk.origin
            for name, kind in chunk.kinds.items():
                if kinds.get(name, "null") == "null":
                    kinds[name] = kind
            if stream.cursor_field and rows.num_rows:
                micros = cursor_micros(rows[stream.cursor_field], zone)
                keys = rows[key]
                skip = _outside(micros, bounds)
                window.observe(micros[~skip], keys.filter(pa.array(~skip)))
                if seen:
                    skip |= _already_landed(micros, keys, seen, seen_until)
                if skip.any():
                    rows = rows.filter(pa.array(~skip))
                    origin = origin if isinstance(origin, str) else [o for o, x in zip(origin, skip) if not x]
            writer.write(rows, origin)
        changes = schema_changes(checkpoint.schema, kinds)
        pending = window.pending(checkpoint) if mode == "incremental" else {}
        pending["schema"] = {k: checkpoint.schema.get(k, v) if v == "null" else v for k, v in kinds.items()}
        extra = {}
        if isinstance(reader, FileReader):
            extra = {"files": reader.taken, "rejected_files": reader.rejected, "notes": reader.notes}
        meta = {
            "mode": mode,
            "schema_changes": changes,
            "primary_key": key,
            "cursor_field": stream.cursor_field,
            "write_mode": stream.write_mode,
            "bounds": [iso(b) if b else None for b in (bounds.since, bounds.until)],
        } | extra
        path = writer.close(meta)
        if getattr(reader, "rejected", None):
            state.rejected(batch_id, "; ".join(reader.rejected.values()))
        else:
            state.staged(batch_id, writer.rows, pending)
    except BaseException as exc:
        writer.abort()
        state.failed(batch_id, str(exc) or type(exc).__name__)
        raise
    finally:
        reader.close()
    notes = [f"{name}: {note}" for name, said in getattr(reader, "notes", {}).items() for note in said]
    return BatchResult(
        batch_id,
        source.name,
        stream.name,
        mode,
        writer.rows,
        str(path),
        changes,
        getattr(reader, "rejected", {}),
        notes=notes,
    )


def extract(
    settings: Settings,
    source_name: str,
    stream_name: str | None = None,
    mode: Mode = "incremental",
    since: datetime | None = None,
    until: datetime | None = None,
    step: Callable[[str], None] = quiet,
) -> list[BatchResult]:
    source = declarations.source(source_name, settings.sources_dir)
    streams = [source.stream(stream_name)] if stream_name else list(source.streams)
    results = []
    with source_lock(settings, source.name):
        for stream in streams:
            if source.kind == "files":
                results += extract_files(settings, source, stream, mode, step)
            else:
                results.append(extract_stream(settings, source, stream, mode, since, until, step=step))
    return results


def extract_files(
    settings: Settings, source: Source, stream: Stream, mode: Mode = "incremental", step: Callable[[str], None] = quiet
) -> list[BatchResult]:
    """One batch per file in the inbox, so a bad file holds only itself (an empty inbox: no batch)."""
    key = for_source(source.name, stream.name).primary_key
    files, _ = open_reader(source, stream, key, settings).listing()
    return [extract_stream(settings, source, stream, mode, file=path.name, step=step) for path in files]


def skipped_files(settings: Settings, source_name: str, stream_name: str | None = None) -> dict[str, str]:
    """Files of a drop's inbox that its patterns miss only by letter case or format, with why: reported on
    every run, so a ``.CSV`` or an unexpected format is not ignored for ever."""
    source = declarations.source(source_name, settings.sources_dir)
    if source.kind != "files":
        return {}
    skipped = {}
    for stream in [source.stream(stream_name)] if stream_name else source.streams:
        key = for_source(source.name, stream.name).primary_key
        skipped |= open_reader(source, stream, key, settings).listing()[1]
    return skipped


def commit(settings: Settings, batch_id: str) -> None:
    """Called once the batch has landed: advance the checkpoint and archive the files it came from."""
    manifest = staging.batch_manifest(settings, batch_id)
    if manifest.get("files"):  # files first: a failed move leaves the batch uncommitted, to be retried
        source = declarations.source(manifest["source"], settings.sources_dir)
        archive(Path(resolve(source.connection, settings).url), manifest["files"], batch_id)
    for old in StateStore(settings.state_dir).commit(batch_id):
        staging.remove(settings, old)

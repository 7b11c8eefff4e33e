"""The staging area: one folder of Parquet files per batch, with lineage on every row.

``<data_dir>/staging/<source>/<stream>/<batch_id>/part-*.parquet`` plus ``_batch.json``. A batch is
written under ``<batch_id>.partial`` and renamed into place only when complete, so a reader (or a
re-run after a kill) never sees half a batch. Memory stays bounded: each chunk is written as it comes.
"""

from __future__ import annotations

import json
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.records import instants, texts
from xgate.errors import ConfigError
from xgate.settings import Settings

LINEAGE = ("_source", "_stream", "_batch_id", "_extracted_at", "_origin")


def new_batch_id(source: str, stream: str) -> str:
    return f"{source}-{stream}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(2)}"


def batch_dir(settings: Settings, batch_id: str) -> Path:
    source, stream = batch_id.split("-")[:2]
    return settings.staging_dir / source / stream / batch_id


class BatchWriter:
    def __init__(self, settings: Settings, source: str, stream: str, batch_id: str) -> None:
        self.source, self.stream, self.batch_id = source, stream, batch_id
        self.final = batch_dir(settings, batch_id)
        self.partial = self.final.with_name(batch_id + ".partial")
        self.partial.mkdir(parents=True)
        self.extracted_at = datetime.now(UTC)
        self.rows = 0
        self.columns: dict[str, str] = {}
        self._writer: pq.ParquetWriter | None = None
        self._parts = 0

    def write(self, table: pa.Table, origin: str | list[str]) -> None:
        if table.num_rows == 0:
            return
        n = table.num_rows
        lineage = {
            "_source": texts([self.source] * n),
            "_stream": texts([self.stream] * n),
            "_batch_id": texts([self.batch_id] * n),
            "_extracted_at": instants(self.extracted_at, n),
            "_origin": texts([origin] * n if isinstance(origin, str) else origin),
        }
        for name, column in lineage.items():
            table = table.append_column(name, column)
        if self._writer is not None and not self._writer.schema.equals(table.schema):
            self._writer.close()  # a column appeared mid-batch: start a new part with the wider schema
            self._writer = None
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.partial / f"part-{self._parts:05d}.parquet", table.schema, compression="zstd"
            )
            self._parts += 1
        self._writer.write_table(table)
        self.rows += n
        for field in table.schema:
            if field.name not in LINEAGE:
                self.columns.setdefault(field.name, str(field.type))

    def close(self, meta: dict) -> Path:
        if self._writer is not None:
            self._writer.close()
        manifest = {
            "batch_id": self.batch_id,
            "source": self.source,
            "stream": self.stream,
            "rows": self.rows,
            "extracted_at": self.extracted_at.isoformat(),
            "columns": self.columns,
        } | meta
        (self.partial / "_batch.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        self.partial.rename(self.final)
        return self.final

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        shutil.rmtree(self.partial, ignore_errors=True)


def batch_manifest(settings: Settings, batch_id: str) -> dict:
    path = batch_dir(settings, batch_id) / "_batch.json"
    if not path.exists():
        raise ConfigError(f"batch {batch_id!r} is not staged (no {path})")
    return json.loads(path.read_text())


def batch_files(settings: Settings, batch_id: str) -> list[Path]:
    return sorted(batch_dir(settings, batch_id).glob("part-*.parquet"))


def read_batch(settings: Settings, batch_id: str) -> pa.Table:
    """The whole batch as one table (columns unified across parts); for tests and small batches."""
    tables = [pq.read_table(p) for p in batch_files(settings, batch_id)]
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="permissive")


def remove(settings: Settings, batch_id: str) -> None:
    """Sweep a superseded batch's staged files (a later batch of the same data has landed)."""
    shutil.rmtree(batch_dir(settings, batch_id), ignore_errors=True)


def sweep_partials(settings: Settings, source: str, stream: str) -> None:
    """Remove batches a killed run left half-written; they were never staged, so nothing is lost."""
    for partial in (settings.staging_dir / source / stream).glob("*.partial"):
        shutil.rmtree(partial, ignore_errors=True)

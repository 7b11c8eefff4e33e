"""The generated sandbox on disk, and what each department shows at the current wave.

Layout under ``<data_dir>/sandbox/``: ``data/<dataset>.parquet`` (every version of every record, with
``_wave``), ``manifest.json`` (ground truth), ``truth.parquet`` (each person record's true person),
``inbox/`` (the housing drop folder), ``drops/wave1/`` (files that arrive on ``advance``), ``state.json``
(current wave) and ``token`` (the API bearer token).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sandbox.departments import DATASETS, PRIMARY_KEYS, build_departments
from sandbox.filedrops import write_drops
from sandbox.population import REFERENCE_TIME, build_population
from sandbox.settings import SandboxSettings
from xgate.errors import ConfigError
from xgate.progress import quiet

LAST_WAVE = 1


@dataclass(frozen=True)
class SandboxPaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def truth(self) -> Path:
        """Every person-bearing record's true person (dataset, key, person): what linkage is scored on."""
        return self.root / "truth.parquet"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def pending(self) -> Path:
        return self.root / "drops" / "wave1"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def token(self) -> Path:
        return self.root / "token"

    def dataset(self, name: str) -> Path:
        return self.data / f"{name}.parquet"


def paths(settings: SandboxSettings) -> SandboxPaths:
    return SandboxPaths(settings.root)


def generate(settings: SandboxSettings, people: int, seed: int, step: Callable[[str], None] = quiet) -> dict:
    """(Re)build the whole sandbox; the same (people, seed) gives the same bytes. ``step`` hears each stage."""
    if people < 1:
        raise ConfigError(f"--people must be at least 1, got {people}")
    where = paths(settings)
    for old in (where.data, where.inbox, where.pending.parent):
        shutil.rmtree(old, ignore_errors=True)
    where.data.mkdir(parents=True)
    step(f"generating {people:,} people")
    population = build_population(people, seed)
    step("generating every department's records of them")
    tables, manifest = build_departments(population, seed)
    tables = {name: follow_the_clock(table, datetime.now(UTC)) for name, table in tables.items()}
    for n, (name, table) in enumerate(tables.items(), start=1):
        step(f"writing {name} ({n} of {len(tables)}, {table.num_rows:,} rows)")
        pq.write_table(table, where.dataset(name), compression="zstd", row_group_size=256_000)
    step("writing the GBK/XLSX file drops")
    write_drops(tables["housing.rental_filings"], 0, where.inbox)
    write_drops(tables["housing.rental_filings"], 1, where.pending)
    step("writing the ground-truth manifest")
    manifest.write(where.manifest)
    pq.write_table(manifest.truth, where.truth, compression="zstd")
    ensure_token(settings)
    write_state(settings, {"wave": 0, "people": people, "seed": seed})
    return {
        "people": people,
        "seed": seed,
        "rows": {n: t.num_rows for n, t in tables.items()},
        "anomalies": manifest.counts(),
    }


def follow_the_clock(table: pa.Table, generated: datetime) -> pa.Table:
    """Every date and time of ``table`` moved by whole days so that the newest wave ends just before
    ``generated``: data built around the fixed reference (so a seed gives the same records) is as fresh at
    generation as a department's, and a demo's freshness figures are real. Birth dates stay: ID numbers
    carry them. Order between events is kept; only the calendar moves (the same bytes within a day)."""
    days = (generated.date() - timedelta(days=1) - REFERENCE_TIME.date()).days
    if not days:
        return table
    for i, field in enumerate(table.schema):
        if field.name == "birth_date" or not (pa.types.is_date(field.type) or pa.types.is_timestamp(field.type)):
            continue
        moved = pc.add(table.column(i), pa.scalar(timedelta(days=days), pa.duration("ms")))
        table = table.set_column(i, field, moved.cast(field.type))
    return table


def read_state(settings: SandboxSettings) -> dict:
    where = paths(settings)
    if not where.state.exists():
        raise ConfigError(f"no sandbox in {where.root}: run 'xgate sandbox generate' first")
    return json.loads(where.state.read_text())


def write_state(settings: SandboxSettings, state: dict) -> None:
    target = paths(settings).state
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True))
    tmp.replace(target)  # servers poll this file; never let them see half of it


def ensure_token(settings: SandboxSettings) -> str:
    """The bearer token the sandbox APIs accept: from the environment, else a generated one kept 0600."""
    if settings.token is not None:
        return settings.token.get_secret_value()
    return secret(settings, paths(settings).token.name)


def secret(settings: SandboxSettings, name: str) -> str:
    """A credential a sandbox API accepts (an API key, a client secret): generated once into
    ``<sandbox>/<name>``, readable by its owner only."""
    file = paths(settings).root / name
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    return file.read_text().strip()


def visible(settings: SandboxSettings, dataset: str, wave: int | None = None) -> pa.Table:
    """The department's current rows: per key, the latest version at or before ``wave``."""
    if dataset not in DATASETS:
        raise ConfigError(f"unknown sandbox dataset {dataset!r}; known: {', '.join(DATASETS)}")
    wave = read_state(settings)["wave"] if wave is None else wave
    file = paths(settings).dataset(dataset)
    key = PRIMARY_KEYS[dataset]
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT * EXCLUDE (_wave) FROM read_parquet(?) WHERE _wave <= ? "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _wave DESC) = 1 ORDER BY {key}",
            [str(file), wave],
        ).to_arrow_table()


def changed_in(settings: SandboxSettings, dataset: str, wave: int) -> pa.Table:
    """The versions a wave brings (what ``advance`` applies to a department database)."""
    with duckdb.connect() as con:
        return con.execute(
            "SELECT * EXCLUDE (_wave) FROM read_parquet(?) WHERE _wave = ? ORDER BY 1",
            [str(paths(settings).dataset(dataset)), wave],
        ).to_arrow_table()

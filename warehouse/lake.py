"""The shared store: a DuckLake (Parquet files plus a catalog with snapshots), opened the one way.

The catalog is a DuckDB file under the data directory by default (one writer process at a time), or
PostgreSQL (``XGATE_CATALOG_URL=ducklake:postgres:dbname=... host=...``) for several users and
concurrent writers. The data files are in a folder under the data directory, or in a bucket on
S3-compatible storage (``XGATE_LAKE_DATA_PATH=s3://bucket/prefix/``, :mod:`warehouse.storage`).
Extensions load from their pip packages; nothing is downloaded. ``as_of`` pins
every table and view to a snapshot (a number) or a time, so a result can be reproduced later.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from contracts.sql import literal
from warehouse import storage
from xgate import duck
from xgate.errors import Busy, SourceUnavailable
from xgate.settings import Settings

LAKE = "lake"


def connect(
    settings: Settings,
    read_only: bool = False,
    as_of: int | datetime | None = None,
    files: bool = True,
    **config: object,
) -> duckdb.DuckDBPyConnection:
    """The lake attached as ``lake``; waits up to ``XGATE_LAKE_WAIT`` seconds while another process holds
    a file catalog (a sync writing, or reads while a sync wants to write), then fails in one line. Without
    ``files`` (read-only), only the catalog is opened: its snapshots and schema, no data file (and no
    object-store credentials needed)."""
    waited, pause = 0.0, 0.05
    while True:
        _let_go(settings)  # a file catalog is opened once per process: the kept look-up instance gives way
        try:
            return _attach(settings, read_only or not files, as_of, files, config)
        except _Busy:
            if waited >= settings.lake_wait:
                raise Busy(
                    f"the warehouse stayed busy for {settings.lake_wait:g} s (another sync or read holds its "
                    "catalog file); try again, or raise XGATE_LAKE_WAIT"
                ) from None
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, 1.0, max(settings.lake_wait - waited, 0.01))


class _Busy(Exception):
    """Another process holds the file catalog's lock, or is creating the catalog's tables right now, or a
    look-up of this process is reading it on its kept instance."""


def _creating(exc: duckdb.Error) -> bool:
    """Writers that meet a fresh PostgreSQL catalog all try to create its tables; all but the first fail on
    the others' (a duplicate type or table). Attached again a moment later, the lake is there."""
    text = str(exc)
    return "Failed to initialize DuckLake" in text and ("already exists" in text or "duplicate key" in text)


def _attach(
    settings: Settings, read_only: bool, as_of: int | datetime | None, files: bool, config: dict
) -> duckdb.DuckDBPyConnection:
    catalog = settings.lake_catalog
    remote = storage.is_remote(settings)  # DuckLake wants httpfs loaded for an s3:// lake even to read its catalog
    extensions = ("ducklake",) + (("postgres_scanner",) if "postgres:" in catalog else ()) + (("httpfs",) * remote)
    con = duck.connect(extensions=extensions, **config)
    if not catalog.startswith("ducklake:postgres:"):
        settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    if remote and files:
        try:
            storage.attach_secret(con, settings)
        except BaseException:
            con.close()
            raise
    elif files:
        Path(settings.lake_data).mkdir(parents=True, exist_ok=True)
    # the data path is where settings say, even moved
    options = [f"DATA_PATH {literal(settings.lake_data)}", "OVERRIDE_DATA_PATH TRUE"] if files else []
    if read_only:
        options.append("READ_ONLY")
    if isinstance(as_of, int):
        options.append(f"SNAPSHOT_VERSION {as_of}")
    elif isinstance(as_of, datetime):
        options.append(f"SNAPSHOT_TIME '{as_of.isoformat()}'")
    try:
        con.execute(f"ATTACH '{catalog.replace(chr(39), chr(39) * 2)}' AS {LAKE} ({', '.join(options)})")
    except (
        duckdb.IOException,
        duckdb.CatalogException,
        duckdb.InvalidInputException,
        duckdb.ConnectionException,
        duckdb.BinderException,
    ) as exc:
        con.close()
        if "Could not set lock on file" in str(exc) or "Unique file handle conflict" in str(exc):
            raise _Busy from None
        raise SourceUnavailable(
            f"warehouse catalog {storage.shown(settings, catalog)} cannot be opened: "
            f"{storage.shown(settings, str(exc).splitlines()[0])}"
        ) from None
    except duckdb.Error as exc:
        con.close()
        if _creating(exc):
            raise _Busy from None
        raise
    con.execute(f"USE {LAKE}")
    if not read_only:
        _row_groups(con)
    return con


ROW_GROUP_ROWS = 32_768  # see _row_groups


def _row_groups(con: duckdb.DuckDBPyConnection) -> None:
    """Write Parquet row groups of 32k rows rather than DuckDB's 122k: tables are written in order of the
    person's ID, so a look-up by ID reads one row group per file, and at 1M rows a quarter-size group made
    that read 2.5x faster (smaller ones cost more in footer statistics than they save). A lake-wide option
    of the catalog, set by the first writer; a writer racing another to set it leaves it to the next."""
    found = con.execute(f"SELECT value FROM {LAKE}.options() WHERE option_name = 'parquet_row_group_size'").fetchone()
    if found is None:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"CALL {LAKE}.set_option('parquet_row_group_size', {ROW_GROUP_ROWS})")


def connect_locked(settings: Settings, as_of: int | None = None) -> tuple[duckdb.DuckDBPyConnection, int | None]:
    """A read-only connection for the access layer's own fixed lookups, and the snapshot it reads.

    It may read the lake's own data files and nothing else on disk or on the network, and nothing run
    on it can change a setting back (``lock_configuration``). Queries people write never run here: they
    run over masked copies in an instance without the lake (:mod:`access.engine`).
    """
    # one thread: a look-up reads a few row groups, and a second thread only costs CPU (about 40% more);
    # the footers of the files read are kept between look-ups on the kept instance (lake.locked)
    con = connect(settings, read_only=True, as_of=as_of, threads=1)
    try:
        con.execute("SET parquet_metadata_cache = true")
        snapshot = as_of if as_of is not None else con.execute(f"FROM {LAKE}.current_snapshot()").fetchone()[0]
        _lock_down(con, settings)
    except duckdb.Error:
        con.close()
        raise
    return con, snapshot


def _lock_down(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    data = settings.lake_data
    allowed = [data] if storage.is_remote(settings) else [f"{Path(data).resolve()}/", data]
    con.execute(f"SET allowed_directories = [{', '.join(map(literal, allowed))}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


@dataclass
class _Kept:
    con: duckdb.DuckDBPyConnection
    users: int = 0
    timer: threading.Timer | None = None


_kept: dict[tuple[str, str], _Kept] = {}
_guard = threading.RLock()


@contextmanager
def locked(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection on the lake as :func:`connect_locked` makes it, on an instance kept for the next look-up.

    Opening the lake costs more than a look-up (loading DuckLake, attaching the catalog, reading its
    metadata), so the locked instance stays open while look-ups follow each other and is closed once
    none has come for ``XGATE_LAKE_HOLD`` seconds: a file catalog held open is locked against writers
    (other processes wait for it; in this process, :func:`connect` closes it first when it is idle), so
    nothing is committed to it while it is kept; a catalog server gives each transaction its newest
    snapshot.
    """
    key = (settings.lake_catalog, settings.lake_data)
    with _guard:
        kept = _kept.get(key)
        if kept is None:
            con, _ = connect_locked(settings)
            kept = _kept[key] = _Kept(con)
        if kept.timer is not None:
            kept.timer.cancel()
            kept.timer = None
        kept.users += 1
        cursor = kept.con.cursor()
    try:
        yield cursor
    finally:
        cursor.close()
        with _guard:
            kept.users -= 1
            if kept.users == 0:
                if _kept.get(key) is not kept:
                    kept.con.close()
                elif settings.lake_hold > 0:
                    kept.timer = threading.Timer(settings.lake_hold, _idle, (key, kept))
                    kept.timer.daemon = True
                    kept.timer.start()
                else:
                    _forget(key, kept)


def _idle(key: tuple[str, str], kept: _Kept) -> None:
    with _guard:
        if kept.users == 0 and kept.timer is not None:
            _forget(key, kept)


def _forget(key: tuple[str, str], kept: _Kept) -> None:
    """Stop keeping ``kept``; closed now if no look-up uses it, else by the last one (under ``_guard``)."""
    if _kept.get(key) is kept:
        del _kept[key]
    if kept.timer is not None:
        kept.timer.cancel()
        kept.timer = None
    if kept.users == 0:
        kept.con.close()


def _let_go(settings: Settings) -> None:
    """Close the kept instance of this lake if no look-up is using it (else the caller waits for it)."""
    key = (settings.lake_catalog, settings.lake_data)
    with _guard:
        if (kept := _kept.get(key)) is not None and kept.users == 0:
            _forget(key, kept)

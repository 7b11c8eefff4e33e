"""The shared store: a DuckLake (Parquet files plus a catalog with snapshots), opened the one way.

The catalog is a DuckDB file under the data directory by default (one writer process at a time), or
PostgreSQL (``XGATE_CATALOG_URL=ducklake:postgres:dbname=... host=...``) for several users and
concurrent writers. Extensions load from their pip packages; nothing is downloaded. ``as_of`` pins
every table and view to a snapshot (a number) or a time, so a result can be reproduced later.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb

from xgate import duck
from xgate.errors import SourceUnavailable
from xgate.settings import Settings

LAKE = "lake"


def _shown(text: str) -> str:
    """A catalog string, or an error quoting one, as it may be shown: PostgreSQL passwords cut out."""
    return re.sub(r"(?i)password=\S+?(?=[\s\"']|$)", "password=***", text)


def connect(
    settings: Settings, read_only: bool = False, as_of: int | datetime | None = None
) -> duckdb.DuckDBPyConnection:
    catalog = settings.lake_catalog
    extensions = ("ducklake", "postgres_scanner") if "postgres:" in catalog else ("ducklake",)
    con = duck.connect(extensions=extensions)
    data = settings.warehouse_dir / "data"
    if not catalog.startswith("ducklake:postgres:"):
        settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    options = [f"DATA_PATH '{data}/'"]
    if read_only:
        options.append("READ_ONLY")
    if isinstance(as_of, int):
        options.append(f"SNAPSHOT_VERSION {as_of}")
    elif isinstance(as_of, datetime):
        options.append(f"SNAPSHOT_TIME '{as_of.isoformat()}'")
    try:
        con.execute(f"ATTACH '{catalog}' AS {LAKE} ({', '.join(options)})")
    except (
        duckdb.IOException,
        duckdb.CatalogException,
        duckdb.InvalidInputException,
        duckdb.ConnectionException,
        duckdb.BinderException,
    ) as exc:
        con.close()
        raise SourceUnavailable(
            f"warehouse catalog {_shown(catalog)} cannot be opened: {_shown(str(exc).splitlines()[0])}"
        ) from None
    con.execute(f"USE {LAKE}")
    return con


def connect_locked(settings: Settings, as_of: int | None = None) -> tuple[duckdb.DuckDBPyConnection, int | None]:
    """A read-only connection for queries people write, and the snapshot it reads.

    It may read the lake's own data files and nothing else on disk or on the network, and the query
    cannot change a setting back (``lock_configuration``). The one place this lock-down is defined:
    engineers' SQL and investigators' queries both run here.
    """
    con = connect(settings, read_only=True, as_of=as_of)
    data = settings.warehouse_dir / "data"
    try:
        snapshot = as_of if as_of is not None else con.execute(f"FROM {LAKE}.current_snapshot()").fetchone()[0]
        con.execute(f"SET allowed_directories = ['{data.resolve()}/', '{data}/']")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error:
        con.close()
        raise
    return con, snapshot

"""DuckDB with its extensions loaded from the pip packages, never downloaded at run time.

``LOAD postgres_scanner`` alone would try to fetch the extension from the internet; on an isolated
network that fails. The ``duckdb-extension-*`` wheels ship the binaries, so we load them by path.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import duckdb

from xgate.errors import ConfigError


def extension_path(name: str) -> Path:
    spec = find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"DuckDB extension {name!r} is not installed (pip package duckdb-extension-{name})")
    found = sorted(Path(spec.submodule_search_locations[0]).rglob("*.duckdb_extension"))
    if not found:
        raise ConfigError(f"DuckDB extension {name!r}: no binary in its package")
    return found[0]


def connect(
    database: str = ":memory:", extensions: tuple[str, ...] = (), **config: object
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the named extensions loaded from their packages; autoload off."""
    con = duckdb.connect(
        database, config={"autoinstall_known_extensions": False, "autoload_known_extensions": False, **config}
    )
    for name in extensions:
        con.load_extension(str(extension_path(name)))
    return con

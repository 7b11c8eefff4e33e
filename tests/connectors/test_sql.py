"""SQL sources: a declared query instead of a table, and a column the driver cannot fetch named in one
line, on the real PostgreSQL and MariaDB (a database of the test's own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connectors.declarations import Source
from connectors.reader import Bounds
from connectors.sql import SqlReader
from xgate.errors import ConfigError
from xgate.settings import Connection, Settings

SERVERS = {
    "postgres": ("postgresql+psycopg://postgres@127.0.0.1:5432", "postgres", "point '(1,2)'", "point"),
    "mysql": ("mysql+pymysql://root@127.0.0.1:3306", "mysql", "ST_GeomFromText('POINT(1 2)')", "geometry"),
}


@pytest.fixture(params=sorted(SERVERS))
def database(request) -> Iterator[tuple[str, str]]:
    base, admin, point, kind = SERVERS[request.param]
    name = f"xgsql_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(f"{base}/{admin}", isolation_level="AUTOCOMMIT")
    with server.connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    engine = sa.create_engine(f"{base}/{name}")
    with engine.begin() as con:
        con.execute(sa.text(f"CREATE TABLE places (place_id VARCHAR(8) PRIMARY KEY, updated_at TIMESTAMP, loc {kind})"))
        for i in range(7):
            con.execute(sa.text(f"INSERT INTO places VALUES ('p{i}', '2026-01-0{i + 1} 08:00:00', {point})"))
    engine.dispose()
    yield f"{base}/{name}", request.param
    with server.connect() as con:
        con.execute(sa.text(f"DROP DATABASE {name}" + (" WITH (FORCE)" if request.param == "postgres" else "")))
    server.dispose()


def read(url: str, **stream: object) -> list[dict]:
    declared = Source.model_validate(
        {"name": "t", "kind": "sql", "department": "d", "connection": "t", "streams": [{"name": "places"} | stream]}
    )
    reader = SqlReader(declared, declared.streams[0], "place_id", Connection(url=url), Settings())
    try:
        return [row for chunk in reader.read(Bounds()) for row in chunk.rows.to_pylist()]
    finally:
        reader.close()


def test_a_column_the_driver_cannot_fetch_is_one_clear_line(database) -> None:
    url, server = database
    kind = "PostgreSQL point" if server == "postgres" else "bytes"
    with pytest.raises(ConfigError, match=rf"t/places: column 'loc' has a type the driver cannot fetch .*\({kind}\)"):
        read(url, table="places", cursor_field="updated_at")


def test_a_declared_query_reads_what_it_selects_in_cursor_order(database) -> None:
    url, server = database
    text = "CAST(loc AS TEXT)" if server == "postgres" else "ST_AsText(loc)"
    rows = read(url, query=f"SELECT place_id, updated_at, {text} AS loc FROM places", cursor_field="updated_at")
    assert [r["place_id"] for r in rows] == [f"p{i}" for i in range(7)]
    assert rows[0]["loc"] in ("(1,2)", "POINT(1 2)")

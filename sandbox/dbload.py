"""Fill the civil-affairs and housing databases the connectors pull from.

SQLite files by default; PostgreSQL or MariaDB when a test or a benchmark wants the real servers. The
tables are built from the Arrow schemas with SQLAlchemy, so all three dialects get the same DDL. Rows
of a later wave replace their earlier versions in one transaction, as a department's system would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from sandbox import store
from sandbox.departments import PRIMARY_KEYS
from sandbox.settings import SandboxSettings
from xgate.errors import SourceUnavailable

Target = Literal["sqlite", "postgres", "mysql"]
DEPARTMENT_TABLES = {
    "civil": ("civil.residents", "civil.households", "civil.marriages", "civil.deaths"),
    "housing": ("housing.properties", "housing.rentals"),
}
CHUNK = 20_000


def database_url(settings: SandboxSettings, target: Target, department: str) -> URL:
    """Where a department's database lives: a SQLite file, or ``<database>_<department>`` on the server."""
    if target == "sqlite":
        return make_url(settings.sqlite_url(department))
    base = make_url(settings.pg_url if target == "postgres" else settings.mysql_url)
    return base.set(database=f"{base.database}_{department}")


def load(settings: SandboxSettings, target: Target, departments: tuple[str, ...], wave: int | None = None) -> dict:
    """Create the department databases and load every table as of ``wave`` (default: the current one)."""
    wave = store.read_state(settings)["wave"] if wave is None else wave
    counts: dict[str, int] = {}
    for department in departments:
        url = database_url(settings, target, department)
        _create_database(url)
        with _transaction(url, department) as con:
            for dataset in DEPARTMENT_TABLES[department]:
                table = store.visible(settings, dataset, wave)
                sql_table = _sql_table(dataset, table.schema)
                sql_table.drop(con, checkfirst=True)
                sql_table.create(con)
                _insert(con, sql_table, table)
                counts[dataset] = table.num_rows
    return counts


def apply_wave(settings: SandboxSettings, target: Target, departments: tuple[str, ...], wave: int) -> dict:
    """Replace the records a wave changes (delete the old version, insert the new) in one transaction each."""
    counts: dict[str, int] = {}
    for department in departments:
        with _transaction(database_url(settings, target, department), department) as con:
            for dataset in DEPARTMENT_TABLES[department]:
                changes = store.changed_in(settings, dataset, wave)
                sql_table = _sql_table(dataset, changes.schema)
                key = sql_table.c[PRIMARY_KEYS[dataset]]
                ids = changes[PRIMARY_KEYS[dataset]].to_pylist()
                for start in range(0, len(ids), CHUNK):
                    con.execute(sql_table.delete().where(key.in_(ids[start : start + CHUNK])))
                _insert(con, sql_table, changes)
                counts[dataset] = changes.num_rows
    return counts


@contextmanager
def _transaction(url: URL, department: str) -> Iterator[sa.Connection]:
    """One transaction on a department database; an unreachable server is a one-line error."""
    engine = _engine(url)
    try:
        with engine.begin() as con:
            yield con
    except sa.exc.OperationalError as exc:
        raise SourceUnavailable(f"{department} database {_safe(url)}: {exc.orig}") from None
    finally:
        engine.dispose()


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _engine(url: URL) -> sa.Engine:
    args = {"connect_timeout": 5} if url.get_backend_name() in ("postgresql", "mysql") else {}
    return sa.create_engine(url, connect_args=args)


def _create_database(url: URL) -> None:
    backend = url.get_backend_name()
    if backend == "sqlite":
        from pathlib import Path

        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return
    admin = _engine(url.set(database="postgres" if backend == "postgresql" else "mysql"))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            if backend == "postgresql":
                exists = con.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
                if not exists.first():
                    con.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
            else:
                con.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{url.database}` CHARACTER SET utf8mb4"))
    except sa.exc.OperationalError as exc:
        raise SourceUnavailable(f"cannot reach database server {_safe(url)}: {exc.orig}".splitlines()[0]) from None
    finally:
        admin.dispose()


def _column_type(field: pa.Field) -> sa.types.TypeEngine:
    t = field.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return sa.String(32) if field.name.endswith(("_id", "_no", "_number", "_code")) else sa.String(200)
    if pa.types.is_date(t):
        return sa.Date()
    if pa.types.is_timestamp(t):
        return sa.DateTime()
    if pa.types.is_floating(t):
        return sa.Numeric(12, 2)
    if pa.types.is_integer(t):
        return sa.Integer()
    raise TypeError(f"no SQL type for {field}")


def _sql_table(dataset: str, schema: pa.Schema) -> sa.Table:
    key = PRIMARY_KEYS[dataset]
    columns = [sa.Column(f.name, _column_type(f), primary_key=f.name == key, nullable=f.name != key) for f in schema]
    table = sa.Table(dataset.split(".", 1)[1], sa.MetaData(), *columns)
    if "updated_at" in schema.names:
        sa.Index(f"ix_{table.name}_updated_at", table.c.updated_at, table.c[key])
    return table


def _chunks(table: pa.Table) -> Iterator[list[dict]]:
    for batch in table.to_batches(CHUNK):
        yield batch.to_pylist()


def _insert(con: sa.Connection, sql_table: sa.Table, table: pa.Table) -> None:
    if con.dialect.name == "postgresql":
        _copy(con, sql_table, table)
        return
    for rows in _chunks(table):
        con.execute(sql_table.insert(), rows)


def _copy(con: sa.Connection, sql_table: sa.Table, table: pa.Table) -> None:
    """PostgreSQL COPY: the way bulk data really enters a PostgreSQL system."""
    cursor = con.connection.driver_connection.cursor()
    names = ", ".join(f'"{n}"' for n in table.schema.names)
    with cursor.copy(f'COPY "{sql_table.name}" ({names}) FROM STDIN') as copy:
        for rows in _chunks(table):
            for row in rows:
                copy.write_row(tuple(row.values()))


def drop(settings: SandboxSettings, target: Target, departments: tuple[str, ...] = ("civil", "housing")) -> None:
    """Remove department databases (tests and benchmarks clean up after themselves)."""
    for department in departments:
        url = database_url(settings, target, department)
        if target == "sqlite":
            from pathlib import Path

            Path(url.database).unlink(missing_ok=True)
            continue
        admin = _engine(url.set(database="postgres" if target == "postgres" else "mysql"))
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
                if target == "postgres":
                    con.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
                else:
                    con.execute(sa.text(f"DROP DATABASE IF EXISTS `{url.database}`"))
        except sa.exc.OperationalError:
            pass  # nothing to drop where the server cannot be reached
        finally:
            admin.dispose()

"""SQL streams (PostgreSQL, MySQL/MariaDB, SQLite) through SQLAlchemy, read in server-side chunks.

The table is reflected for its column types (so a changed column shows up as drift), then read in
(cursor, primary key) order inside the requested window with a streaming cursor, ``page_size`` rows at
a time. On PostgreSQL the same query runs through ADBC, which decodes PostgreSQL's binary COPY stream
straight into Arrow batches; the rows and their order are identical.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import sqlalchemy as sa

from connectors.connections import describe
from connectors.declarations import Source, Stream
from connectors.reader import Bounds, Chunk, prefetched
from connectors.records import parse_offset
from xgate.errors import ConfigError, SourceUnavailable
from xgate.settings import Connection, Settings

ADBC_BATCH_BYTES = 16 << 20


def arrow_type(column: sa.Column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us")
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, sa.Float | sa.Numeric):
        return pa.float64()
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    return pa.string()


class SqlReader:
    def __init__(self, source: Source, stream: Stream, connection: Connection, settings: Settings) -> None:
        self.stream = stream
        self.where = f"{source.name}/{stream.name}"
        self.zone = parse_offset(settings.source_timezone)
        self.shown = describe(connection)
        args = {"connect_timeout": 10} if connection.url.startswith(("postgresql", "mysql")) else {}
        try:
            self.engine = sa.create_engine(connection.url, connect_args=args)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError):
            raise ConfigError(f"{self.where}: connection URL {self.shown!r} is not a database URL") from None

    def _local(self, instant) -> object:
        """Department databases keep naive local times; compare in theirs."""
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        try:
            table = sa.Table(self.stream.table, sa.MetaData(), autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            raise SourceUnavailable(f"{self.where}: table {self.stream.table!r} not found in {self.shown}") from None
        except sa.exc.OperationalError as exc:
            raise SourceUnavailable(
                f"{self.where}: cannot reach {self.shown}: {str(exc.orig).splitlines()[0]}"
            ) from None
        schema = pa.schema([(c.name, arrow_type(c)) for c in table.columns])
        kinds = {c.name: str(arrow_type(c)) for c in table.columns}
        cursor, key = table.c[self.stream.cursor_field], table.c[self.stream.primary_key]
        query = sa.select(table).order_by(cursor, key)
        if bounds.since:
            query = query.where(cursor >= self._local(bounds.since))
        if bounds.until:
            query = query.where(cursor < self._local(bounds.until))
        chunks = self._adbc(query, schema) if self.engine.dialect.name == "postgresql" else self._fetch(query, schema)
        chunks = prefetched(chunks)  # the database sends the next block while this one is written
        offset = 0
        for rows in chunks:
            yield Chunk(rows, f"table={self.stream.table}#offset={offset}", kinds)
            offset += rows.num_rows

    def _fetch(self, query: sa.Select, schema: pa.Schema) -> Iterator[pa.Table]:
        size = self.stream.page_size
        with self.engine.connect().execution_options(stream_results=True, max_row_buffer=size) as con:
            for part in con.execute(query).partitions(size):
                columns = list(zip(*part)) if part else [[] for _ in schema]
                yield pa.table(
                    [pa.array(col).cast(f.type) if col else pa.array([], f.type) for col, f in zip(columns, schema)],
                    schema=schema,
                )

    def _adbc(self, query: sa.Select, schema: pa.Schema) -> Iterator[pa.Table]:
        """PostgreSQL through ADBC: the server's binary COPY stream decoded to Arrow in C++, batch by batch."""
        import adbc_driver_postgresql.dbapi as adbc  # loads libpq; only PostgreSQL sources need it

        sql = str(query.compile(self.engine, compile_kwargs={"literal_binds": True}))
        uri = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with adbc.connect(uri) as con, con.cursor() as cursor:
                cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(ADBC_BATCH_BYTES)})
                cursor.execute(sql)
                for batch in cursor.fetch_record_batch():
                    yield pa.Table.from_batches([batch]).cast(schema)
        except adbc.Error as exc:
            raise SourceUnavailable(f"{self.where}: {self.shown}: {str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()

"""SQL streams (any SQLAlchemy URL: PostgreSQL, MySQL/MariaDB, SQLite ...), read in server-side chunks.

A stream reads a table, reflected for its column types (so a changed column shows up as drift), or a
declared ``query`` (a SELECT, whose columns take the types the driver hands back). Either is read in
(cursor, primary key) order inside the requested window with a streaming cursor, ``page_size`` rows at
a time. On PostgreSQL the same query runs through ADBC, which decodes PostgreSQL's binary COPY stream
straight into Arrow batches; the rows and their order are identical. A column the driver cannot turn
into a value (PostgreSQL ``point`` or ``bit`` arrive as opaque bytes, ``interval`` has no text form, a
MySQL geometry is bytes) stops the read with one line naming it: leave it out or cast it in a query.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pyarrow as pa
import sqlalchemy as sa

from connectors.connections import describe
from connectors.declarations import Source, Stream
from connectors.reader import Bounds, Chunk, prefetched
from connectors.records import parse_offset
from xgate.errors import ConfigError, SourceRefused, SourceUnavailable
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
    def __init__(self, source: Source, stream: Stream, key: str, connection: Connection, settings: Settings) -> None:
        self.stream, self.key = stream, key
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

    def _selectable(self) -> tuple[sa.FromClause, pa.Schema | None]:
        """The table (reflected, with the Arrow schema of its columns) or the declared query (types as sent)."""
        if self.stream.query:
            return sa.text(self.stream.query).columns().subquery("xg_query"), None
        try:
            with warnings.catch_warnings():  # "did not recognize type": the read names such a column itself
                warnings.simplefilter("ignore", sa.exc.SAWarning)
                table = sa.Table(self.stream.table, sa.MetaData(), autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            raise SourceRefused(f"{self.where}: table {self.stream.table!r} not found in {self.shown}") from None
        except sa.exc.OperationalError as exc:
            raise SourceUnavailable(
                f"{self.where}: cannot reach {self.shown}: {str(exc.orig).splitlines()[0]}"
            ) from None
        return table, pa.schema([(c.name, arrow_type(c)) for c in table.columns])

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        source, schema = self._selectable()
        cursor, key = sa.column(self.stream.cursor_field), sa.column(self.key)
        query = sa.select(sa.text("*")).select_from(source).order_by(cursor, key)
        if bounds.since:
            query = query.where(cursor >= self._local(bounds.since))
        if bounds.until:
            query = query.where(cursor < self._local(bounds.until))
        chunks = self._adbc(query, schema) if self.engine.dialect.name == "postgresql" else self._fetch(query, schema)
        offset, origin = 0, f"table={self.stream.table}" if self.stream.table else "query"
        for rows in prefetched(chunks):  # the database sends the next block while this one is written
            yield Chunk(rows, f"{origin}#offset={offset}", {f.name: str(f.type) for f in rows.schema})
            offset += rows.num_rows

    def _unreadable(self, column: str, kind: object) -> ConfigError:
        return ConfigError(
            f"{self.where}: column {column!r} has a type the driver cannot fetch as a value ({kind}); leave it out "
            f"or cast it to text in a declared query (query: SELECT ..., CAST({column} AS TEXT) AS {column} FROM ...)"
        )

    def _fetch(self, query: sa.Select, schema: pa.Schema | None) -> Iterator[pa.Table]:
        size = self.stream.page_size
        try:
            with self.engine.connect().execution_options(stream_results=True, max_row_buffer=size) as con:
                result = con.execute(query)
                names = list(result.keys())
                for part in result.partitions(size):
                    columns = list(zip(*part)) if part else [[] for _ in names]
                    yield pa.table([self._column(n, c, schema) for n, c in zip(names, columns)], names=names)
        except sa.exc.OperationalError as exc:
            raise SourceUnavailable(f"{self.where}: {self.shown}: {str(exc.orig).splitlines()[0]}") from None

    def _column(self, name: str, values: tuple | list, schema: pa.Schema | None) -> pa.Array:
        kind = schema.field(name).type if schema is not None else None
        try:
            array = pa.array(values) if values else pa.array([], kind or pa.null())
            array = array if kind is None else array.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            raise self._unreadable(name, type(next(v for v in values if v is not None)).__name__) from None
        if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
            raise self._unreadable(name, "bytes")
        return array

    def _adbc(self, query: sa.Select, schema: pa.Schema | None) -> Iterator[pa.Table]:
        """PostgreSQL through ADBC: the server's binary COPY stream decoded to Arrow in C++, batch by batch."""
        import adbc_driver_postgresql.dbapi as adbc  # loads libpq; only PostgreSQL sources need it

        sql = str(query.compile(self.engine, compile_kwargs={"literal_binds": True}))
        uri = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with adbc.connect(uri) as con, con.cursor() as cursor:
                cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(ADBC_BATCH_BYTES)})
                cursor.execute(sql)
                for batch in cursor.fetch_record_batch():
                    yield self._typed(pa.Table.from_batches([batch]), schema)
        except adbc.Error as exc:
            raise SourceUnavailable(f"{self.where}: {self.shown}: {str(exc).splitlines()[0]}") from None

    def _typed(self, table: pa.Table, schema: pa.Schema | None) -> pa.Table:
        for i, field in enumerate(table.schema):
            kind = field.type
            name = kind.extension_name if isinstance(kind, pa.BaseExtensionType) else ""
            if name == "arrow.uuid":  # 16 bytes on the wire: as the text everyone compares
                text = pa.array([None if u is None else str(u) for u in table[i].to_pylist()], pa.string())
                table = table.set_column(i, field.name, text)
            elif name == "arrow.opaque" or pa.types.is_interval(kind):
                typename = (field.metadata or {}).get(b"POSTGRESQL:type", b"?").decode()
                raise self._unreadable(field.name, f"PostgreSQL {typename}")
        return table.cast(schema) if schema is not None else table

    def close(self) -> None:
        self.engine.dispose()

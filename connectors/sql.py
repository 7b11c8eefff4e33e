"""SQL streams (PostgreSQL, MySQL/MariaDB, SQLite) through SQLAlchemy, read in server-side chunks.

The table is reflected for its column types (so a changed column shows up as drift), then read in
(cursor, primary key) order inside the requested window with a streaming cursor, ``page_size`` rows at
a time. On PostgreSQL the same query streams through ``COPY ... TO STDOUT``, which is how bulk data
leaves PostgreSQL fastest; the rows and their order are identical.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from connectors.connections import describe
from connectors.declarations import Source, Stream
from connectors.reader import Bounds, Chunk
from connectors.records import parse_offset
from xgate.errors import SourceUnavailable
from xgate.settings import Connection, Settings

COPY_BLOCK = 8 << 20


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
        self.engine = sa.create_engine(connection.url, connect_args=args)

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
        chunks = self._copy(query, schema) if self.engine.dialect.name == "postgresql" else self._fetch(query, schema)
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

    def _copy(self, query: sa.Select, schema: pa.Schema) -> Iterator[pa.Table]:
        """COPY hands over one whole row per message; parse them in blocks of about COPY_BLOCK bytes."""
        sql = str(query.compile(self.engine, compile_kwargs={"literal_binds": True}))
        convert = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False)
        parse = pacsv.ParseOptions(newlines_in_values=True)
        read = pacsv.ReadOptions(column_names=schema.names)
        with self.engine.connect() as con:
            cursor = con.connection.driver_connection.cursor()
            with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
                block: list[bytes] = []
                size = 0
                for row in copy:
                    block.append(bytes(row))
                    size += len(row)
                    if size >= COPY_BLOCK:
                        yield pacsv.read_csv(io.BytesIO(b"".join(block)), read, parse, convert)
                        block, size = [], 0
                if block:
                    yield pacsv.read_csv(io.BytesIO(b"".join(block)), read, parse, convert)

    def close(self) -> None:
        self.engine.dispose()

"""REST/JSON streams: the declared paginator walks the pages, the record selector finds the records,
declared field paths flatten nested records; the modification-time window goes out as the API's own
parameters in the API's own format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timezone

from connectors.declarations import Incremental, Source, Stream
from connectors.http import HttpClient
from connectors.paging import Page, pick
from connectors.reader import Bounds, Chunk, prefetched
from connectors.records import json_table, parse_offset
from xgate.errors import ConfigError
from xgate.settings import Connection, Settings


def instant_param(instant: datetime, spec: Incremental, zone: timezone) -> str:
    """An instant as the API wants it: UTC ISO 8601, epoch (milli)seconds, or a pattern on local time."""
    if spec.format == "iso":
        return instant.astimezone(UTC).isoformat()
    if spec.format in ("epoch", "epoch_ms"):
        return str(int(instant.timestamp() * (1000 if spec.format == "epoch_ms" else 1)))
    return instant.astimezone(zone).strftime(spec.format)


class RestReader:
    def __init__(self, source: Source, stream: Stream, connection: Connection, settings: Settings) -> None:
        self.source, self.stream = source, stream
        self.where = f"{source.name}/{stream.name}"
        self.zone = parse_offset(settings.source_timezone)
        auth = source.auth.build(connection, source.connection)
        headers = source.headers | stream.headers
        self.client = HttpClient(connection, settings, self.where, auth, headers)

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        for number, page in prefetched(enumerate(self._pages(bounds), start=1)):
            records = page.records
            if self.stream.fields:
                records = [{column: pick(r, path) for column, path in self.stream.fields.items()} for r in records]
            rows, kinds = json_table(records)
            yield Chunk(rows, f"page={number}", kinds)

    def _pages(self, bounds: Bounds) -> Iterator[Page]:
        spec = self.stream.incremental
        base = self.source.params | self.stream.params
        for param, instant in ((spec.since_param, bounds.since), (spec.until_param, bounds.until)):
            if param and instant:
                base[param] = instant_param(instant, spec, self.zone)
        number = 0

        def fetch(url: str | None, params: dict) -> Page:
            nonlocal number
            number += 1
            page = self.client.get(url or self.stream.path, None if url else base | params, number)
            found = pick(page.body, self.stream.records)
            if found is None:
                found = []
            if not isinstance(found, list):
                raise ConfigError(
                    f"{self.where} page {number}: records path {self.stream.records!r} leads to a "
                    f"{type(found).__name__}, not a list of records: check the declaration"
                )
            page.records = found
            return page

        yield from self.stream.paginator.pages(fetch, self.stream.page_size)

    def close(self) -> None:
        self.client.close()

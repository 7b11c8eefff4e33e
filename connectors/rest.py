"""REST/JSON streams: follow the API's page cursor, filter on modification time."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.declarations import Source, Stream
from connectors.http import HttpClient
from connectors.reader import Bounds, Chunk, prefetched
from connectors.records import iso, json_table
from xgate.settings import Connection, Settings


class RestReader:
    def __init__(self, source: Source, stream: Stream, connection: Connection, settings: Settings) -> None:
        self.stream = stream
        self.client = HttpClient(connection, settings, where=f"{source.name}/{stream.name}")

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        for page, body in prefetched(self._pages(bounds)):
            rows, kinds = json_table(body.get(self.stream.records_key) or [])
            yield Chunk(rows, f"page={page}", kinds)

    def _pages(self, bounds: Bounds) -> Iterator[tuple[int, dict]]:
        names = self.stream.params
        params = {names["size"]: self.stream.page_size}
        if bounds.since:
            params[names["since"]] = iso(bounds.since)
        if bounds.until:
            params[names["until"]] = iso(bounds.until)
        page, token = 1, None
        while True:
            body = self.client.get_json(self.stream.path, params | ({names["page"]: token} if token else {}), page)
            yield page, body
            token = body.get(self.stream.next_key)
            if not token:
                return
            page += 1

    def close(self) -> None:
        self.client.close()

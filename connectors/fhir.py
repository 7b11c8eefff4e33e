"""HL7 FHIR searches: Bundle pages via ``next`` links, ``_lastUpdated`` windows, resources flattened.

Each column of a FHIR stream is declared as a small path into the resource: ``meta.lastUpdated``,
``name[0].text``, ``identifier[system=...].value`` (the first element whose field equals the value),
and ``subject.reference|id`` (a reference reduced to the id it points at).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from connectors.declarations import Source, Stream
from connectors.http import HttpClient
from connectors.reader import Bounds, Chunk, prefetched
from connectors.records import iso, json_table
from xgate.settings import Connection, Settings

_SEGMENT = re.compile(r"(\w+)(?:\[([^\]]*)\])?")


@cache
def _compile(path: str) -> tuple[list[tuple[str, str | None]], str]:
    path, _, transform = path.partition("|")
    return [(m.group(1), m.group(2)) for m in _SEGMENT.finditer(path)], transform


def resolve(resource: dict, path: str) -> object:
    """The value a declared path points at, or None when any step is missing."""
    steps, transform = _compile(path)
    value: object = resource
    for name, selector in steps:
        value = value.get(name) if isinstance(value, dict) else None
        if selector is not None and isinstance(value, list):
            if selector.isdigit():
                value = value[int(selector)] if int(selector) < len(value) else None
            else:
                field, _, wanted = selector.partition("=")
                value = next((v for v in value if isinstance(v, dict) and v.get(field) == wanted), None)
        if value is None:
            return None
    if transform == "id" and isinstance(value, str):
        return value.rsplit("/", 1)[-1]
    return value


class FhirReader:
    def __init__(self, source: Source, stream: Stream, connection: Connection, settings: Settings) -> None:
        self.stream = stream
        self.client = HttpClient(connection, settings, where=f"{source.name}/{stream.name}")

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        for page, bundle in prefetched(self._pages(bounds)):
            resources = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
            flat = [{column: resolve(r, path) for column, path in self.stream.fields.items()} for r in resources]
            rows, kinds = json_table(flat)
            yield Chunk(rows, f"page={page}", kinds)

    def _pages(self, bounds: Bounds) -> Iterator[tuple[int, dict]]:
        params: list[tuple[str, object]] = [("_count", self.stream.page_size)]
        if bounds.since:
            params.append(("_lastUpdated", f"ge{iso(bounds.since)}"))
        if bounds.until:
            params.append(("_lastUpdated", f"lt{iso(bounds.until)}"))
        url: str | None = f"/{self.stream.resource}"
        page = 1
        while url:
            bundle = self.client.get_json(url, params if page == 1 else None, page)
            yield page, bundle
            url = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
            page += 1

    def close(self) -> None:
        self.client.close()

"""How a REST API hands out its pages, declared like dlt's paginators: one small class per style.

Each paginator is both the declaration (``paginator: {type: page_number, page_param: pageNo}``) and the
walk: :meth:`pages` asks ``fetch`` for each page (a URL the API gave, or query parameters for the
stream's path) and stops when the API says there is no more. ``fetch`` returns a :class:`Page` whose
``records`` are already picked out of the body by the stream's record selector. Values inside a body
are found with :func:`pick`, a dotted path (``result.meta.total``, ``links[0].href``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def pick(value: object, path: str | None) -> object:
    """The value at a dotted path (``a.b[0].c``), or None where any step is missing; no path: the value."""
    for name, index in _STEP.findall(path or ""):
        if name and isinstance(value, Mapping):
            value = value.get(name)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


@dataclass
class Page:
    body: object
    headers: Mapping[str, str]
    links: dict[str, dict] = field(default_factory=dict)  # the Link header, by rel
    records: list = field(default_factory=list)


Fetch = Callable[[str | None, dict], Page]  # (URL the API gave or None for the stream's path, query params)


class _Paginator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size_param: str | None = Field(None, description="query parameter for the page size, if the API takes one")

    def first(self, size: int) -> dict:
        return {self.size_param: size} if self.size_param else {}


class SinglePage(_Paginator):
    """Everything comes in one answer."""

    type: Literal["single_page"]

    def pages(self, fetch: Fetch, size: int) -> Iterator[Page]:
        yield fetch(None, self.first(size))


class JsonLink(_Paginator):
    """The body holds the URL of the next page (``next``, ``links.next``)."""

    type: Literal["json_link"]
    next_path: str = "next"

    def pages(self, fetch: Fetch, size: int) -> Iterator[Page]:
        page = fetch(None, self.first(size))
        while True:
            yield page
            url = pick(page.body, self.next_path)
            if not url:
                return
            page = fetch(str(url), {})


class HeaderLink(_Paginator):
    """An RFC 8288 ``Link: <...>; rel="next"`` header points at the next page (GitHub style)."""

    type: Literal["header_link"]
    rel: str = "next"

    def pages(self, fetch: Fetch, size: int) -> Iterator[Page]:
        page = fetch(None, self.first(size))
        while True:
            yield page
            url = page.links.get(self.rel, {}).get("url")
            if not url:
                return
            page = fetch(url, {})


class Cursor(_Paginator):
    """An opaque token for the next page, in the body (``cursor_path``) or a header (``cursor_header``)."""

    type: Literal["cursor"]
    cursor_path: str | None = None
    cursor_header: str | None = None
    cursor_param: str = "cursor"

    @model_validator(mode="after")
    def _one_place(self) -> Cursor:
        if (self.cursor_path is None) == (self.cursor_header is None):
            raise ValueError("a cursor paginator needs exactly one of cursor_path (body) or cursor_header")
        return self

    def pages(self, fetch: Fetch, size: int) -> Iterator[Page]:
        page = fetch(None, self.first(size))
        while True:
            yield page
            token = page.headers.get(self.cursor_header) if self.cursor_header else pick(page.body, self.cursor_path)
            if not token:
                return
            page = fetch(None, self.first(size) | {self.cursor_param: token})


class PageNumber(_Paginator):
    """``?page=1,2,3...`` until an empty page, or the declared total number of pages."""

    type: Literal["page_number"]
    page_param: str = "page"
    base_page: int = Field(1, ge=0)
    total_path: str | None = Field(None, description="where the body gives the number of pages")

    def pages(self, fetch: Fetch, size: int) -> Iterator[Page]:
        number = self.base_page
        while True:
            page = fetch(None, self.first(size) | {self.page_param: number})
            if not page.records:
                return
            yield page
            total = pick(page.body, self.total_path) if self.total_path else None
            if total is not None and number - self.base_page + 1 >= int(total):
                return
            number += 1


class Offset(_Paginator):
    """``?offset=0&limit=N``, then ``offset=N`` ... until an empty page or the declared total of records."""

    type: Literal["offset"]
    offset_param: str = "offset"
    size_param: str | None = "limit"
    total_path: str | None = Field(None, description="where the body gives the number of records")

    def pages(self, fetch: Fetch, size: int) -> Iterator[Page]:
        offset = 0
        while True:
            page = fetch(None, self.first(size) | {self.offset_param: offset})
            if not page.records:
                return
            yield page
            offset += len(page.records)
            total = pick(page.body, self.total_path) if self.total_path else None
            if total is not None and offset >= int(total):
                return


Paginator = Annotated[SinglePage | JsonLink | HeaderLink | Cursor | PageNumber | Offset, Field(discriminator="type")]

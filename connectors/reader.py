"""What every stream reader provides: chunks of rows, each with where it came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class Bounds:
    """Modification-time window to read: ``since`` inclusive, ``until`` exclusive (aware instants)."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Chunk:
    rows: pa.Table
    origin: str | list[str]  # one origin for the chunk (a page) or one per row (file and row number)
    kinds: dict[str, str] = field(default_factory=dict)  # column -> source type, for drift detection


class Reader(Protocol):
    def read(self, bounds: Bounds) -> Iterator[Chunk]: ...

    def close(self) -> None: ...

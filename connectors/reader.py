"""What every stream reader provides: chunks of rows, each with where it came from."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

import pyarrow as pa

T = TypeVar("T")


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


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run a page-fetching iterator one step ahead in a thread, so the next page is on the wire
    while this one is converted and written. Errors surface in order; closing stops the thread."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def pump() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put((done, exc))

    worker = threading.Thread(target=pump, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get_nowait()
            worker.join(timeout=0.05)

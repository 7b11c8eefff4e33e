"""FHIR Bulk Data ``$export`` (Bulk Data Access IG v2): for pulls too large for paged searches.

Kick-off ``GET [base]/$export?_type=<resource>&_since=<instant>`` with ``Prefer: respond-async`` answers
202 and a status URL in ``Content-Location``; polling it answers 202 (with ``Retry-After``) until the
export is done, then 200 and a manifest listing NDJSON files. Each file is downloaded whole to a
temporary folder (fetched again if it arrives cut short), then read ``page_size`` resources at a time;
the status URL is deleted at the end to tell the server the files may go. A failed export (4xx/5xx
with an OperationOutcome) fails with the server's message. ``_until`` is not part of v2: the runner
keeps the window's upper bound itself.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import orjson

from connectors.declarations import Stream
from connectors.http import HttpClient
from connectors.reader import Bounds
from connectors.records import iso
from xgate.errors import SourceRefused, SourceUnavailable, XgateError

MAX_WAIT = 3600.0  # seconds an export may take before the extract gives up (and Airflow retries later)
ASYNC = {"Accept": "application/fhir+json", "Prefer": "respond-async"}


def export(client: HttpClient, stream: Stream, bounds: Bounds, where: str) -> Iterator[tuple[str, list[dict]]]:
    params = {"_type": stream.resource, "_outputFormat": "application/fhir+ndjson"}
    if bounds.since:
        params["_since"] = iso(bounds.since)
    kickoff, _ = client.fetch("/$export", params, 1, lambda r: None, headers=ASYNC)
    status = kickoff.headers.get("Content-Location")
    if kickoff.status_code != 202 or not status:
        raise SourceRefused(
            f"{where}: $export answered HTTP {kickoff.status_code} without a status URL; not bulk-capable"
        )
    manifest = _wait(client, status, where)
    files = [o["url"] for o in manifest.get("output") or [] if o.get("type") == stream.resource]
    with tempfile.TemporaryDirectory(prefix="xgate-bulk-") as folder:
        for number, url in enumerate(files, start=1):
            path = client.download(
                url, Path(folder) / f"{number}.ndjson", number, {"Accept": "application/fhir+ndjson"}
            )
            yield from _resources(path, number, stream.page_size, where)
    with contextlib.suppress(XgateError):  # a courtesy: the files may go; the data is already read
        client.fetch(status, None, 1, lambda r: None, method="DELETE")


def _wait(client: HttpClient, status: str, where: str) -> dict:
    deadline = time.monotonic() + MAX_WAIT
    while True:
        reply, manifest = client.fetch(
            status, None, 1, lambda r: orjson.loads(r.content) if r.status_code == 200 else None
        )
        if reply.status_code == 200:
            return manifest
        if time.monotonic() > deadline:
            progress = reply.headers.get("X-Progress", "unknown")
            raise SourceUnavailable(f"{where}: $export not done after {MAX_WAIT:.0f} s (progress: {progress})")
        time.sleep(float(reply.headers.get("Retry-After", "1")))


def _resources(path: Path, number: int, size: int, where: str) -> Iterator[tuple[str, list[dict]]]:
    with path.open("rb") as lines:
        start = 1
        while batch := list(islice(lines, size)):
            try:
                resources = [orjson.loads(line) for line in batch if line.strip()]
            except orjson.JSONDecodeError:
                raise SourceUnavailable(
                    f"{where}: bulk file {number} has a malformed line after line {start}"
                ) from None
            yield f"file={number}#line={start}", resources
            start += len(batch)

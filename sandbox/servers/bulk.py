"""FHIR Bulk Data ``$export`` for the sandbox health server, as the Bulk Data Access IG (v2) specifies it.

``GET /fhir/$export?_type=Patient&_since=...`` with ``Prefer: respond-async`` answers 202 and a status URL
(``Content-Location``); the first poll of it answers 202 with ``Retry-After`` and ``X-Progress``, the next
200 and the manifest; each output is an NDJSON file that needs the access token; ``DELETE`` on the status
URL ends the job. Faults injected on the server apply to every one of these requests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sandbox.servers.control import Control
from sandbox.servers.pages import PagedDataset

NDJSON = "application/fhir+ndjson"


def bulk_router(control: Control, datasets: dict[str, PagedDataset], to_resource: dict[str, Callable]) -> APIRouter:
    router = APIRouter()
    jobs: dict[str, dict] = {}

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/fhir"

    @router.get("/fhir/$export")
    async def kickoff(request: Request, _type: str | None = None, _since: str | None = None) -> Response:
        refused = await control.guard(request)
        if refused is not None:
            return refused
        if request.headers.get("prefer") != "respond-async":
            return control.problem(400, "a bulk export needs 'Prefer: respond-async'")
        kinds = _type.split(",") if _type else list(datasets)
        if set(kinds) - set(datasets):
            return control.problem(400, f"_type: unsupported resource types {sorted(set(kinds) - set(datasets))}")
        try:
            since = datetime.fromisoformat(_since) if _since else None
        except ValueError:
            return control.problem(400, f"_since is not an instant: {_since!r}")
        job = secrets.token_hex(8)
        jobs[job] = {"kinds": kinds, "since": since, "polls": 0, "request": str(request.url)}
        return Response(status_code=202, headers={"Content-Location": f"{base(request)}/$export-status/{job}"})

    @router.get("/fhir/$export-status/{job}")
    async def status(job: str, request: Request) -> Response:
        refused = await control.guard(request)
        if refused is not None:
            return refused
        if job not in jobs:
            return control.problem(404, f"no export job {job}")
        jobs[job]["polls"] += 1
        if jobs[job]["polls"] == 1:
            return Response(status_code=202, headers={"Retry-After": "1", "X-Progress": "exporting"})
        manifest = {
            "transactionTime": datetime.now(UTC).isoformat(),
            "request": jobs[job]["request"],
            "requiresAccessToken": True,
            "output": [
                {"type": k, "url": f"{base(request)}/$export-file/{job}/{k}.ndjson"} for k in jobs[job]["kinds"]
            ],
            "error": [],
        }
        return JSONResponse(manifest)

    @router.delete("/fhir/$export-status/{job}")
    async def end(job: str, request: Request) -> Response:
        if not control.allowed(request):
            return control.problem(401, "missing or invalid credentials")
        jobs.pop(job, None)
        return Response(status_code=202)

    @router.get("/fhir/$export-file/{job}/{kind}.ndjson")
    async def file(job: str, kind: str, request: Request) -> Response:
        refused = await control.guard(request)
        if refused is not None:
            return refused
        if job not in jobs or kind not in jobs[job]["kinds"]:
            return control.problem(404, f"no file {kind} in export job {job}")
        rows, _, _ = datasets[kind].page(jobs[job]["since"], None, None, 1 << 40)
        body = b"".join(orjson.dumps(to_resource[kind](r)) + b"\n" for r in rows)
        return control.respond(request, body, NDJSON)

    return router

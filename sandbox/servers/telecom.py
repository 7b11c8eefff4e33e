"""The telecom operator's real-name registration API (REST/JSON).

``GET /v1/subscribers?updated_since=&limit=&cursor=`` answers ``{"data": [...], "next_cursor": ...}``:
bearer-token auth, cursor pagination in (updated_at, subscriber_id) order, a rate limit answering 429
with Retry-After, and the injected faults of :mod:`sandbox.servers.control`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from starlette.responses import Response

from sandbox.servers import Api
from sandbox.servers.admin import admin_router
from sandbox.servers.control import Control
from sandbox.servers.pages import PagedDataset
from sandbox.settings import SandboxSettings

MAX_PAGE = 10_000


def telecom_app(settings: SandboxSettings, control: Control) -> FastAPI:
    app = FastAPI(title="Sandbox telecom real-name registration API", version="1.0")
    subscribers = PagedDataset(settings, "telecom.subscribers", "subscriber_id", "updated_at")
    app.include_router(admin_router(control))

    @app.get("/v1/subscribers")
    async def list_subscribers(
        request: Request,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    ) -> Response:
        refused = await control.guard(request)
        if refused is not None:
            return refused
        try:
            rows, next_cursor, total = subscribers.page(updated_since, updated_before, cursor, limit)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        body = orjson.dumps({"data": rows, "next_cursor": next_cursor, "total": total})
        return control.respond(request, body, "application/json")

    return app


API = Api("telecom", 18081, telecom_app)

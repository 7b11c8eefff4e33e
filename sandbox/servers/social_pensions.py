"""人社 pension payments API (养老金发放), behind OAuth2 client credentials.

``POST /oauth/token`` (``grant_type=client_credentials``, the client's id and secret as HTTP basic or in
the form) answers a bearer token valid ten minutes; ``GET /api/v1/pensions?updated_since=&limit=`` answers
a JSON array of payments and, while more remain, an RFC 8288 ``Link: <...>; rel="next"`` header.
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qs, urlencode

import orjson
from fastapi import FastAPI, Query, Request
from starlette.responses import JSONResponse, Response

from sandbox import store
from sandbox.servers import Api
from sandbox.servers.admin import admin_router
from sandbox.servers.control import Control
from sandbox.servers.pages import PagedDataset
from sandbox.settings import SandboxSettings

CLIENT_ID = "xgate-sync"
SECRET = "social_pensions_client_secret"  # file of the client secret in the sandbox folder
LIFETIME = 600


def _client(request: Request, form: dict[str, list[str]]) -> tuple[str, str]:
    given = request.headers.get("authorization", "")
    if given.startswith("Basic "):
        user, _, password = base64.b64decode(given[6:]).decode().partition(":")
        return user, password
    return form.get("client_id", [""])[0], form.get("client_secret", [""])[0]


def pensions_app(settings: SandboxSettings, control: Control) -> FastAPI:
    app = FastAPI(title="Sandbox 人社 pension payments API", version="1.0")
    secret = store.secret(settings, SECRET)
    issued: dict[str, float] = {}  # access token -> expiry (monotonic)
    payments = PagedDataset(settings, "social.pensions", "payment_id", "updated_at")
    app.include_router(admin_router(control))

    def valid(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return given.startswith("Bearer ") and issued.get(given[7:], 0) > time.monotonic()

    control.check = valid

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        client, password = _client(request, form)
        if client != CLIENT_ID or not secrets.compare_digest(password, secret):
            return JSONResponse({"error": "invalid_client"}, 401)
        access = secrets.token_urlsafe(24)
        issued[access] = time.monotonic() + LIFETIME
        control.served["token"] += 1
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": LIFETIME})

    @app.get("/api/v1/pensions")
    async def pensions(
        request: Request,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
        page_token: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> Response:
        refused = await control.guard(request)
        if refused is not None:
            return refused
        try:
            rows, after, _ = payments.page(updated_since, updated_before, page_token, limit)
        except ValueError as exc:
            return control.problem(400, str(exc))
        headers = {}
        if after:
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "page_token"]
            url = str(request.url.replace(query=urlencode([*query, ("page_token", after)])))
            headers["Link"] = f'<{url}>; rel="next"'
        return control.respond(request, orjson.dumps(rows), "application/json", headers)

    return app


def _profile(url: str, settings: SandboxSettings) -> dict[str, dict[str, str]]:
    return {"social_pensions": {"url": url, "username": CLIENT_ID, "password": store.secret(settings, SECRET)}}


API = Api("social_pensions", 18084, pensions_app, connections=_profile)

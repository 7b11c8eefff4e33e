"""人社 insured register API (参保登记), served the way provincial platforms serve it.

``GET /api/v2/insured?pageNo=1&pageSize=500&modifiedFrom=2026-10-01 00:00:00`` with the API key in
``X-API-Key`` answers ``{"code": 0, "msg": "成功", "result": {"pageNo", "pageSize", "total", "pages",
"list": [...]}}``: numbered pages, records nested (``person``, ``insurance``, ``employer`` or null),
times as naive local wall-clock text (``2026-10-01 08:30:00``), filtered by ``modifiedFrom`` and
``modifiedTo`` in the same form.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import FastAPI, Query, Request
from starlette.responses import Response

from sandbox import store
from sandbox.servers import Api
from sandbox.servers.admin import admin_router
from sandbox.servers.control import Control
from sandbox.servers.pages import PagedDataset
from sandbox.settings import SandboxSettings

KEY = "social_api_key"  # file of the API key in the sandbox folder
LOCAL = "%Y-%m-%d %H:%M:%S"


def _local(text: str) -> str:
    return text[:19].replace("T", " ")


def _record(r: dict) -> dict:
    employer = {"creditCode": r["employer_code"], "name": r["employer_name"]} if r["employer_code"] else None
    return {
        "id": r["insured_id"],
        "person": {"idNumber": r["id_number"], "name": r["name"], "sex": r["sex"]},
        "insurance": {"scheme": r["scheme"], "status": r["status"], "since": r["since"]},
        "employer": employer,
        "updatedAt": _local(r["updated_at"]),
    }


def social_app(settings: SandboxSettings, control: Control) -> FastAPI:
    app = FastAPI(title="Sandbox 人社 insured register API", version="2.0")
    api_key = store.secret(settings, KEY)
    control.check = lambda request: secrets.compare_digest(request.headers.get("x-api-key", ""), api_key)
    insured = PagedDataset(settings, "social.insured", "insured_id", "updated_at")
    app.include_router(admin_router(control))

    @app.get("/api/v2/insured")
    async def list_insured(
        request: Request,
        pageNo: Annotated[int, Query(ge=1)] = 1,
        pageSize: Annotated[int, Query(ge=1, le=2000)] = 100,
        modifiedFrom: str | None = None,
        modifiedTo: str | None = None,
    ) -> Response:
        refused = await control.guard(request)
        if refused is not None:
            return refused
        try:
            since, until = (datetime.strptime(v, LOCAL) if v else None for v in (modifiedFrom, modifiedTo))
        except ValueError:
            return control.problem(400, f"modifiedFrom/modifiedTo must look like 2026-10-01 08:30:00 ({LOCAL})")
        rows, total = insured.numbered(since, until, (pageNo - 1) * pageSize, pageSize)
        result = {"pageNo": pageNo, "pageSize": pageSize, "total": total, "pages": math.ceil(total / pageSize)}
        body = {"code": 0, "msg": "成功", "result": result | {"list": [_record(r) for r in rows]}}
        return control.respond(request, orjson.dumps(body), "application/json")

    return app


def _profile(url: str, settings: SandboxSettings) -> dict[str, dict[str, str]]:
    return {"social": {"url": url, "token": store.secret(settings, KEY)}}


API = Api("social", 18083, social_app, connections=_profile)

"""The health commission's HL7 FHIR R4 API: Patient, Encounter and Immunization searches.

``GET /fhir/Patient?_lastUpdated=ge2026-10-01T00:00:00%2B08:00&_count=500`` answers a ``searchset``
Bundle whose ``next`` link carries a page token, in (meta.lastUpdated, id) order. The resident ID is a
``Patient.identifier`` of system :data:`RESIDENT_ID_SYSTEM`. Errors are OperationOutcome resources. The
Bulk Data ``$export`` of :mod:`sandbox.servers.bulk` serves the same resources as NDJSON files.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from starlette.responses import Response

from sandbox.servers import Api
from sandbox.servers.admin import admin_router
from sandbox.servers.bulk import bulk_router
from sandbox.servers.control import Control
from sandbox.servers.pages import PagedDataset
from sandbox.settings import SandboxSettings

RESIDENT_ID_SYSTEM = "urn:xgate:sid:cn-resident-id"  # sandbox namespace for GB 11643 numbers
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CVX = "http://hl7.org/fhir/sid/cvx"
FHIR_JSON = "application/fhir+json"
RESOURCES = {
    "Patient": ("health.patients", "patient_id"),
    "Encounter": ("health.encounters", "encounter_id"),
    "Immunization": ("health.immunizations", "immunization_id"),
}


def _patient(r: dict) -> dict:
    out = {
        "resourceType": "Patient",
        "id": r["patient_id"],
        "meta": {"lastUpdated": r["last_updated"]},
        "identifier": [{"system": RESIDENT_ID_SYSTEM, "value": r["id_number"]}],
        "name": [{"use": "official", "text": r["name"]}],
        "gender": r["gender"],
        "birthDate": r["birth_date"],
    }
    if r["deceased_at"]:
        out["deceasedDateTime"] = r["deceased_at"]
    else:
        out["deceasedBoolean"] = False
    return out


def _encounter(r: dict) -> dict:
    return {
        "resourceType": "Encounter",
        "id": r["encounter_id"],
        "meta": {"lastUpdated": r["last_updated"]},
        "status": r["status"],
        "class": {"system": ACT_CODE, "code": r["class_code"]},
        "type": [{"text": r["type_text"]}],
        "subject": {"reference": f"Patient/{r['patient_id']}"},
        "period": {"start": r["period_start"], "end": r["period_end"]},
    }


def _immunization(r: dict) -> dict:
    return {
        "resourceType": "Immunization",
        "id": r["immunization_id"],
        "meta": {"lastUpdated": r["last_updated"]},
        "status": r["status"],
        "vaccineCode": {"coding": [{"system": CVX, "code": r["vaccine_code"]}], "text": r["vaccine_display"]},
        "patient": {"reference": f"Patient/{r['patient_id']}"},
        "occurrenceDateTime": r["occurrence"],
    }


_SECOND = timedelta(seconds=1)
TO_RESOURCE = {"Patient": _patient, "Encounter": _encounter, "Immunization": _immunization}


def _bounds(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """FHIR date search prefixes: ge/gt set the lower bound, lt/le the upper (second precision)."""
    since = until = None
    for value in values:
        prefix, moment = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
        try:
            when = datetime.fromisoformat(moment)
        except ValueError:
            raise HTTPException(400, f"_lastUpdated: not a dateTime: {moment!r}") from None
        if prefix in ("ge", "gt"):
            since = when.replace(microsecond=0) if prefix == "ge" else when.replace(microsecond=0) + _SECOND
        elif prefix in ("lt", "le"):
            until = when if prefix == "lt" else when + _SECOND
        else:
            raise HTTPException(400, f"_lastUpdated: unsupported prefix {prefix!r}")
    return since, until


def health_app(settings: SandboxSettings, control: Control) -> FastAPI:
    app = FastAPI(title="Sandbox health FHIR R4 server", version="4.0.1")
    datasets = {kind: PagedDataset(settings, name, key, "last_updated") for kind, (name, key) in RESOURCES.items()}
    control.fhir = True
    app.include_router(admin_router(control))
    app.include_router(bulk_router(control, datasets, TO_RESOURCE))

    @app.exception_handler(HTTPException)
    async def outcome(request: Request, exc: HTTPException) -> Response:
        return control.problem(exc.status_code, str(exc.detail))

    @app.get("/fhir/metadata")
    def metadata() -> Response:
        body = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-01",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "resource": [
                        {
                            "type": kind,
                            "interaction": [{"code": "search-type"}],
                            "searchParam": [{"name": "_lastUpdated", "type": "date"}],
                        }
                        for kind in RESOURCES
                    ],
                }
            ],
        }
        return Response(orjson.dumps(body), media_type=FHIR_JSON)

    @app.get("/fhir/{kind}")
    async def search(
        kind: str,
        request: Request,
        _count: Annotated[int, Query(ge=1, le=5000)] = 100,
        _lastUpdated: Annotated[list[str] | None, Query()] = None,
        _page_token: str | None = None,
    ) -> Response:
        if kind not in RESOURCES:
            raise HTTPException(404, f"unknown resource type {kind}")
        refused = await control.guard(request)
        if refused is not None:
            return refused
        since, until = _bounds(_lastUpdated or [])
        try:
            rows, token, total = datasets[kind].page(since, until, _page_token, _count)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        base = str(request.base_url).rstrip("/") + f"/fhir/{kind}"
        query = [("_count", _count), *(("_lastUpdated", v) for v in _lastUpdated or [])]
        links = [{"relation": "self", "url": f"{base}?{urlencode(query)}"}]
        if token:
            links.append({"relation": "next", "url": f"{base}?{urlencode([*query, ('_page_token', token)])}"})
        to_resource = TO_RESOURCE[kind]
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {"fullUrl": f"{base}/{r[RESOURCES[kind][1]]}", "resource": to_resource(r), "search": {"mode": "match"}}
                for r in rows
            ],
        }
        return control.respond(request, orjson.dumps(bundle), FHIR_JSON)

    return app


API = Api("health", 18082, health_app, root="/fhir")

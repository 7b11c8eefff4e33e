"""The sandbox APIs behave as the departments' real systems do, faults included."""

from __future__ import annotations

import json

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient

from sandbox import store, waves
from sandbox.servers import process
from tests.sandbox.helpers import fhir_resources, telecom_rows
from xgate.settings import Settings


@pytest.fixture(scope="module")
def urls(sandbox_settings: Settings) -> dict[str, str]:
    return process.urls(sandbox_settings)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_no_data(urls) -> None:
    for url in (f"{urls['telecom']}/v1/subscribers", f"{urls['health']}/Patient"):
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401


def test_cursor_pagination_is_complete_without_overlap(sandbox_settings, urls, token) -> None:
    rows = telecom_rows(urls["telecom"], token, page=97)
    keys = [r["subscriber_id"] for r in rows]
    assert len(keys) == len(set(keys)) == store.visible(sandbox_settings, "telecom.subscribers").num_rows
    order = [(r["updated_at"], r["subscriber_id"]) for r in rows]
    assert order == sorted(order)


def test_updated_since_filters_on_modification_time(urls, token) -> None:
    since = "2026-06-01T00:00:00+08:00"
    rows = telecom_rows(urls["telecom"], token, page=500, updated_since=since)
    everything = telecom_rows(urls["telecom"], token, page=5000)
    assert rows and {r["subscriber_id"] for r in rows} == {
        r["subscriber_id"] for r in everything if r["updated_at"] >= since
    }


def test_rate_limit_answers_429_with_retry_after(urls, token, faults) -> None:
    faults("telecom", rate_limit=1)
    answers = [requests.get(f"{urls['telecom']}/v1/subscribers?limit=1", headers=auth(token)) for _ in range(4)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and all(int(a.headers["Retry-After"]) >= 1 for a in limited)
    assert answers[0].status_code == 200


def test_injected_faults(urls, token, faults) -> None:
    faults("telecom", script=["500", "503", "truncate", "drop", "slow", "ok"], slow_seconds=1.5)
    url = f"{urls['telecom']}/v1/subscribers?limit=200"
    assert requests.get(url, headers=auth(token)).status_code == 500
    unavailable = requests.get(url, headers=auth(token))
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "1"
    with pytest.raises(json.JSONDecodeError):
        json.loads(requests.get(url, headers=auth(token)).content)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="Connection broken"):
        requests.get(url, headers=auth(token))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, headers=auth(token), timeout=0.5)
    assert len(requests.get(url, headers=auth(token)).json()["data"]) == 200


def test_fhir_resources_are_valid_r4(urls, token) -> None:
    reply = requests.get(f"{urls['health']}/Patient", params={"_count": 50}, headers=auth(token))
    assert reply.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(reply.json())
    assert bundle.type == "searchset" and any(link.relation == "next" for link in bundle.link)
    for kind, model in (("Patient", Patient), ("Encounter", Encounter), ("Immunization", Immunization)):
        page = requests.get(f"{urls['health']}/{kind}", params={"_count": 200}, headers=auth(token)).json()
        for entry in page["entry"]:
            model.model_validate(entry["resource"])
    CapabilityStatement.model_validate(requests.get(f"{urls['health']}/metadata").json())


def test_fhir_paging_and_last_updated(sandbox_settings, urls, token) -> None:
    patients = fhir_resources(urls["health"], token, "Patient", count=333)
    ids = [p["id"] for p in patients]
    assert len(ids) == len(set(ids)) == store.visible(sandbox_settings, "health.patients").num_rows
    assert any("deceasedDateTime" in p for p in patients)
    recent = fhir_resources(urls["health"], token, "Patient", _lastUpdated="ge2026-06-01T00:00:00+08:00")
    expected = {p["id"] for p in patients if p["meta"]["lastUpdated"] >= "2026-06-01T00:00:00+08:00"}
    assert recent and {p["id"] for p in recent} == expected


def test_advance_serves_the_next_wave(own_sandbox) -> None:
    urls = process.serve(own_sandbox)
    token = store.ensure_token(own_sandbox)
    before = {r["subscriber_id"]: r for r in telecom_rows(urls["telecom"], token, page=2000)}
    waves.advance(own_sandbox)
    after = {r["subscriber_id"]: r for r in telecom_rows(urls["telecom"], token, page=2000)}
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed and all(after[k]["status"] == "cancelled" for k in changed)
    newest_before = max(r["updated_at"] for r in before.values())
    assert any(after[k]["updated_at"] < newest_before for k in changed)  # late-arriving updates
    assert len(list(store.paths(own_sandbox).inbox.glob("*_2026-11.*"))) > 0

"""The manifest is exact: what each department serves has precisely the anomalies it lists, no more."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

import pytest
from stdnum.cn import ric

from sandbox import store, waves
from sandbox.manifest import read_manifest
from sandbox.servers import process
from tests.conftest import make_settings
from tests.sandbox.helpers import fhir_resources, inbox_rows, sql_rows, telecom_rows
from xgate.settings import Settings

MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _to18(number: str) -> str:
    if len(number) == 15:
        body = number[:6] + "19" + number[6:]
        return body + ric.calc_check_digit(body + "0")
    return number


@pytest.fixture(scope="module")
def served(sandbox_settings: Settings, tmp_path_factory) -> Iterator[dict]:
    """The sandbox after every wave, read back through its servers, databases and inbox."""
    import shutil

    root = tmp_path_factory.mktemp("final")
    shutil.copytree(store.paths(sandbox_settings).root, root / "sandbox", ignore=shutil.ignore_patterns("run"))
    settings = make_settings(root)
    waves.load_databases(settings, "sqlite", ("civil", "housing"))
    waves.advance(settings)
    urls = process.serve(settings)
    token = store.ensure_token(settings)
    try:
        yield {
            "manifest": read_manifest(store.paths(settings).manifest),
            "telecom": telecom_rows(urls["telecom"], token),
            "patients": fhir_resources(urls["health"], token, "Patient"),
            "residents": sql_rows(settings.sqlite_url("civil"), "residents"),
            "rentals": sql_rows(settings.sqlite_url("housing"), "rentals"),
            "properties": sql_rows(settings.sqlite_url("housing"), "properties"),
            "filings": inbox_rows(store.paths(settings).inbox),
        }
    finally:
        process.stop(settings)


def planted(served: dict, kind: str, dataset: str, variant: str | None = None) -> set[str]:
    """Keys of ``dataset`` in the entries of ``kind``; with ``variant``, only entries of that variant
    (``exact``: the ones an ID join finds)."""
    return {
        r["key"]
        for a in served["manifest"]["anomalies"]
        if a["kind"] == kind and variant in (None, a.get("detail", {}).get("variant", "exact"))
        for r in a["records"]
        if r["dataset"] == dataset
    }


def test_every_kind_is_planted(served) -> None:
    assert set(served["manifest"]["counts"]) == set(served["manifest"]["kinds"])
    assert all(n > 0 for n in served["manifest"]["counts"].values())


def test_invalid_check_characters(served) -> None:
    bad = {r["subscriber_id"] for r in served["telecom"] if not ric.is_valid(r["id_number"])}
    assert bad == set().union(
        *(planted(served, k, "telecom.subscribers") for k in ("invalid_id_check", "link_id_swapped", "link_legacy_id"))
    )
    bad = {r["rental_id"] for r in served["rentals"] if not ric.is_valid(r["tenant_id_number"])}
    assert bad == planted(served, "invalid_id_check", "housing.rentals")


def test_legacy_ids_and_birth_dates(served) -> None:
    legacy = {r["resident_id"] for r in served["residents"] if len(r["id_number"]) == 15}
    assert legacy == planted(served, "legacy_15_digit_id", "civil.residents")
    owners = {r["property_id"] for r in served["properties"] if len(r["owner_id"]) == 15}
    assert owners == planted(served, "legacy_15_digit_id", "housing.properties")
    mismatch = {
        r["resident_id"]
        for r in served["residents"]
        if len(r["id_number"]) == 18 and str(ric.get_birth_date(r["id_number"])) != str(r["birth_date"])
    }
    assert mismatch == planted(served, "birth_date_mismatch", "civil.residents")


def test_deaths_health_knows_and_others_missed(served) -> None:
    dead = {p["identifier"][0]["value"]: p["id"] for p in served["patients"] if "deceasedDateTime" in p}
    registered = {r["resident_id"] for r in served["residents"] if r["status"] == "正常" and r["id_number"] in dead}
    assert registered == planted(served, "dead_but_registered", "civil.residents", "exact")
    active = {r["subscriber_id"] for r in served["telecom"] if r["status"] == "active" and r["id_number"] in dead}
    assert active == planted(served, "dead_but_active_phone", "telecom.subscribers", "exact")
    assert planted(served, "dead_but_registered", "civil.residents", "missing_id")  # what only linkage finds


def test_duplicates_and_unknown_patients(served) -> None:
    rows_of = defaultdict(set)
    for r in served["residents"]:
        if r["status"] == "正常":
            rows_of[r["id_number"]].add(r["resident_id"])
    twice = set().union(*(ids for ids in rows_of.values() if len(ids) > 1))
    assert twice == planted(served, "duplicate_household_registration", "civil.residents", "exact")
    known = {_to18(r["id_number"]) for r in served["residents"]}
    unknown = {p["id"] for p in served["patients"] if p["identifier"][0]["value"] not in (*known, None)}
    assert unknown == planted(served, "unknown_to_civil", "health.patients", "exact")


def test_tenants_and_contacts(served) -> None:
    home = defaultdict(set)
    for r in served["residents"]:
        home[r["id_number"]].add(r["address_code"])
    elsewhere = {
        r["rental_id"]
        for r in served["rentals"]
        if ric.is_valid(r["tenant_id_number"]) and r["address_code"] not in home[r["tenant_id_number"]]
    }
    assert elsewhere == planted(served, "tenant_not_registered", "housing.rentals")
    phones = {
        r["rental_id"]
        for r in served["rentals"]
        if not MOBILE.match(re.sub(r"^\+86|[\s-]", "", r["tenant_phone"].replace("+86-", "")))
    }
    assert phones == planted(served, "invalid_phone", "housing.rentals")
    names = {}
    for r in served["residents"]:
        names[r["id_number"]] = r["name"]
    differ = {
        r["subscriber_id"] for r in served["telecom"] if r["id_number"] in names and names[r["id_number"]] != r["name"]
    }
    assert differ == planted(served, "name_one_char_diff", "telecom.subscribers")


def test_filings_full_width_and_four_date_formats(served) -> None:
    wide = {r["filing_no"] for r in served["filings"] if re.search("[０-９Ｘ]", r["tenant_id_number"])}
    assert wide == planted(served, "fullwidth_digits", "housing.rental_filings")
    formats = {re.sub(r"\d+", "9", r["start_date"]) for r in served["filings"]}
    assert {"9-9-9", "9", "9/9/9", "9年9月9日"} <= formats


def test_late_updates_are_older_than_rows_already_served(served, sandbox_settings) -> None:
    before = store.visible(sandbox_settings, "telecom.subscribers", wave=0)
    newest = max(before["updated_at"].to_pylist()).isoformat()
    late = planted(served, "late_arriving_update", "telecom.subscribers")
    after = {r["subscriber_id"]: r for r in served["telecom"] if r["subscriber_id"] in late}
    assert late and len(after) == len(late)
    assert all(r["updated_at"][:19] < newest and r["status"] == "cancelled" for r in after.values())

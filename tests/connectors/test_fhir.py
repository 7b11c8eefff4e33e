"""The health connector on FHIR data the sandbox did not write: the R4 specification's own examples,
served as searchset Bundles the way FHIR servers page them (``next`` links, ``_include``d resources,
an informational OperationOutcome entry); and the Bulk Data ``$export`` path against the sandbox."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from fhir.resources.R4B import get_fhir_model_class

from connectors import extract
from connectors.declarations import SOURCES_DIR, source
from connectors.fhir import FhirReader
from connectors.reader import Bounds
from connectors.staging import read_batch
from tests.connectors.fhir_examples import EXAMPLES
from xgate.errors import ConfigError, SourceRefused
from xgate.settings import Connection, Settings

INCLUDED = {"resourceType": "Organization", "id": "1", "name": "ACME Healthcare, Inc"}
NOTE = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}
FAILED = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "too-costly", "diagnostics": "x"}],
}


class FhirServer:
    """Searchsets of the examples, two per page, with a ``meta.lastUpdated`` where the example has none
    (a server stamps every stored resource); ``/broken`` answers a Bundle carrying an error outcome."""

    def __init__(self) -> None:
        stored = copy.deepcopy(EXAMPLES)
        for resources in stored.values():
            for i, resource in enumerate(resources):
                resource.setdefault("meta", {}).setdefault("lastUpdated", f"2024-03-0{i + 1}T10:00:00+00:00")
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                kind = parts.path.rsplit("/", 1)[-1]
                offset, count = int(query.get("_getpagesoffset", 0)), int(query.get("_count", 2))
                page = stored[kind][offset : offset + count]
                entries = [
                    {"fullUrl": f"{server.base}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                    for r in page
                ]
                if kind == "Patient" and offset == 0:
                    entries += [
                        {"resource": INCLUDED, "search": {"mode": "include"}},
                        {"resource": NOTE, "search": {"mode": "outcome"}},
                    ]
                if parts.path.startswith("/broken/"):
                    entries.append({"resource": FAILED, "search": {"mode": "outcome"}})
                links = [{"relation": "self", "url": f"{server.base}{self.path}"}]
                if offset + count < len(stored[kind]):
                    links.append(
                        {
                            "relation": "next",
                            "url": f"{server.base}/{kind}?_count={count}&_getpagesoffset={offset + count}",
                        }
                    )
                body = {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "total": len(stored[kind]),
                    "link": links,
                    "entry": entries,
                }
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}/fhir"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server() -> Iterator[FhirServer]:
    serving = FhirServer()
    yield serving
    serving.httpd.shutdown()


def rows(base: str, stream: str) -> dict[str, dict]:
    """A stream of the shipped health declaration, read from ``base``."""
    declared = source("health")
    reader = FhirReader(declared, declared.stream(stream), Connection(url=base, token="t"), Settings(http_retries=0))
    try:
        read = [row for chunk in reader.read(Bounds()) for row in chunk.rows.to_pylist()]
    finally:
        reader.close()
    return {next(iter(row.values())): row for row in read}


def test_the_examples_are_valid_fhir() -> None:
    for kind, resources in EXAMPLES.items():
        for resource in resources:
            get_fhir_model_class(kind).model_validate(resource)  # R4B keeps these three resources as in R4


def test_patients_as_the_spec_writes_them(server) -> None:
    patients = rows(server.base, "patients")
    assert set(patients) == {p["id"] for p in EXAMPLES["Patient"]}  # the included Organization is left out
    assert patients["example"] | {"last_updated": None} == {
        "patient_id": "example",
        "id_number": None,  # no Chinese resident ID: the contract quarantines these, the connector reads them
        "name": "Peter James Chalmers",  # the official name, not "Jim", built from given and family
        "gender": "male",
        "birth_date": "1974-12-25",
        "deceased": "false",
        "deceased_at": None,
        "last_updated": None,
    }
    assert (patients["pat3"]["deceased"], patients["pat3"]["deceased_at"]) == ("true", "2015-02-14T13:42:00+10:00")
    assert (patients["pat4"]["deceased"], patients["pat4"]["deceased_at"]) == ("true", None)
    assert patients["f001"]["name"] == "Pieter van de Heuvel"  # only a "usual" name
    assert patients["newborn"]["name"] is None and patients["pat2"]["birth_date"] is None
    assert patients["pat2"]["gender"] == "other" and patients["pat2"]["name"] == "Duck D Donald"
    assert patients["genetics-example1"]["last_updated"] == "2012-05-29T23:45:32Z"


def test_encounters_and_immunizations_as_the_spec_writes_them(server) -> None:
    encounters = rows(server.base, "encounters")
    assert (encounters["example"]["patient_id"], encounters["example"]["class_code"]) == ("example", "IMP")
    assert (
        encounters["example"]["period_start"] is None
        and encounters["home"]["period_end"] == "2015-01-17T16:30:00+10:00"
    )
    assert (encounters["f201"]["patient_id"], encounters["f201"]["type_text"]) == ("f201", "Consultation")
    shots = rows(server.base, "immunizations")
    assert (
        shots["example"]["vaccine_display"] == "Fluvax (Influenza)" and shots["example"]["occurrence"] == "2013-01-10"
    )
    assert shots["historical"]["occurrence"] is None  # occurrenceString "January 2012" is no date
    assert (shots["notGiven"]["status"], shots["notGiven"]["vaccine_display"]) == ("not-done", "DTP")
    assert (shots["protocol"]["vaccine_code"], shots["protocol"]["patient_id"]) == ("104", "example")


def test_an_error_outcome_in_a_bundle_stops_the_read(server) -> None:
    with pytest.raises(SourceRefused, match="OperationOutcome error too-costly: x"):
        rows(server.base.replace("/fhir", "/broken/fhir"), "patients")


def test_a_field_that_is_not_fhirpath_is_a_declaration_error(tmp_path: Path) -> None:
    health = yaml.safe_load((SOURCES_DIR / "health.yaml").read_text(encoding="utf-8"))
    health["streams"][0]["fields"]["name"] = "name.where(use = 'official'"
    (tmp_path / "health.yaml").write_text(yaml.safe_dump(health, allow_unicode=True), encoding="utf-8")
    declared = source("health", tmp_path)
    with pytest.raises(ConfigError, match=r"health/patients: field 'name' is not a FHIRPath expression \(at column"):
        FhirReader(declared, declared.streams[0], Connection(url="http://127.0.0.1:1/fhir", token="t"), Settings())


def test_bulk_export_reads_what_the_searches_read(extract_settings, tmp_path: Path) -> None:
    health = yaml.safe_load((SOURCES_DIR / "health.yaml").read_text(encoding="utf-8"))
    for stream in health["streams"]:
        stream["bulk"] = True
    (tmp_path / "health.yaml").write_text(yaml.safe_dump(health, allow_unicode=True), encoding="utf-8")
    bulk = extract(extract_settings.model_copy(update={"sources_dir": tmp_path}), "health", "patients", mode="full")
    [paged] = extract(extract_settings, "health", "patients", mode="full")
    exported = read_batch(extract_settings, bulk[0].batch_id).drop_columns(["_batch_id", "_extracted_at", "_origin"])
    searched = read_batch(extract_settings, paged.batch_id).drop_columns(["_batch_id", "_extracted_at", "_origin"])
    assert exported.sort_by("patient_id").to_pylist() == searched.sort_by("patient_id").to_pylist()

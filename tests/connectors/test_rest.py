"""REST sources declared like dlt's: every paginator, the record selector, field paths, auth kinds and
incremental parameter formats, against a real HTTP(S) server on 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import trustme

from connectors.declarations import Source
from connectors.reader import Bounds
from connectors.rest import RestReader
from tests.connectors.api import KEY, PASSWORD, RECORDS, USER, Api
from xgate.errors import ConfigError, SourceRefused
from xgate.settings import Connection, Settings


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    server = Api()
    yield server
    server.close()


def read(source: dict, connection: Connection, bounds: Bounds | None = None) -> list[dict]:
    declared = Source.model_validate({"name": "t", "kind": "rest", "department": "d", "connection": "t"} | source)
    settings = Settings(http_retries=0, http_backoff=0.01)
    reader = RestReader(declared, declared.streams[0], connection, settings)
    try:
        return [row for chunk in reader.read(bounds or Bounds()) for row in chunk.rows.to_pylist()]
    finally:
        reader.close()


def stream(path: str, **options: object) -> dict:
    return {"streams": [{"name": "s", "path": path, "cursor_field": "updated", "page_size": 5} | options]}


PAGINATORS = {
    "offset": {"records": "items", "paginator": {"type": "offset", "total_path": "total"}},
    "pages": {"records": "result.list", "paginator": {"type": "page_number", "page_param": "p", "size_param": "limit"}},
    "json_link": {
        "records": "data",
        "paginator": {"type": "json_link", "next_path": "links.next", "size_param": "limit"},
    },
    "link": {"paginator": {"type": "header_link", "size_param": "limit"}},
    "header_cursor": {
        "paginator": {"type": "cursor", "cursor_header": "X-Next", "cursor_param": "at", "size_param": "limit"}
    },
    "single": {"records": "rows"},
}


@pytest.mark.parametrize("kind", PAGINATORS)
def test_every_paginator_reads_every_record_once(api, kind) -> None:
    before = len(api.requests)
    rows = read({"auth": {"type": "none"}} | stream(f"/open/{kind}", **PAGINATORS[kind]), Connection(url=api.url))
    assert [r["id"] for r in rows] == [r["id"] for r in RECORDS]
    pages = len(api.requests) - before
    # 23 records in pages of 5: 5 pages, one more where the API only says "empty", one for a single page
    assert pages == {"pages": 6, "single": 1}.get(kind, 5), (kind, api.requests[before:])


def test_field_paths_flatten_nested_records(api) -> None:
    fields = {"record": "id", "value": "detail.value", "second_tag": "detail.tags[1]", "missing": "detail.nope.x"}
    rows = read(
        {"auth": {"type": "none"}} | stream("/open/single", records="rows", fields=fields), Connection(url=api.url)
    )
    assert rows[3] == {"record": "r003", "value": "3", "second_tag": "b", "missing": None}


def test_declared_headers_and_query_parameters_go_out(api) -> None:
    declared = {"auth": {"type": "none"}, "headers": {"Accept-Language": "zh-CN"}, "params": {"region": "5104"}}
    declared |= stream("/open/offset", **PAGINATORS["offset"], params={"fields": "all"}, headers={"X-Dept": "police"})
    rows = read(declared, Connection(url=api.url))
    assert len(rows) == len(RECORDS)
    assert "region=5104" in api.requests[-1] and "fields=all" in api.requests[-1]
    assert api.headers[-1]["Accept-Language"] == "zh-CN" and api.headers[-1]["X-Dept"] == "police"


def test_a_records_path_that_is_no_list_is_a_declaration_error(api) -> None:
    with pytest.raises(ConfigError, match=r"records path 'links' leads to a dict"):
        read({"auth": {"type": "none"}} | stream("/open/json_link", records="links"), Connection(url=api.url))


def test_the_window_goes_out_in_the_apis_own_format(api) -> None:
    since = datetime(2026, 1, 1, 20, tzinfo=UTC)
    declared = stream("/open/offset", **PAGINATORS["offset"], incremental={"since_param": "since", "format": "epoch"})
    rows = read({"auth": {"type": "none"}} | declared, Connection(url=api.url), Bounds(since))
    assert [r["id"] for r in rows] == [f"r{i:03d}" for i in range(20, 23)]
    assert f"since={int(since.timestamp())}" in api.requests[-1]


def test_http_basic_and_an_api_key_in_the_query(api) -> None:
    basic = {"auth": {"type": "http_basic"}} | stream("/basic/single", records="rows")
    assert len(read(basic, Connection(url=api.url, username=USER, password=PASSWORD))) == len(RECORDS)
    with pytest.raises(SourceRefused, match=r"HTTP 401 Unauthorized .*who are you; not retried") as caught:
        read(basic, Connection(url=api.url, username=USER, password="wrong-password-1"))
    assert "wrong-password-1" not in str(caught.value)
    key = {"auth": {"type": "api_key", "name": "api_key", "location": "query"}} | stream("/key/single", records="rows")
    assert len(read(key, Connection(url=api.url, token=KEY))) == len(RECORDS)
    with pytest.raises(SourceRefused, match=r"HTTP 403 Forbidden .*bad key") as caught:
        read(key, Connection(url=api.url, token="wrong-key-2"))
    assert "wrong-key-2" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"connection 't' has no token: set XGATE_CONNECTIONS__T__TOKEN"):
        read(key, Connection(url=api.url))


def test_mutual_tls_with_a_client_certificate(tmp_path) -> None:
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    authority.configure_trust(tls)
    tls.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    server = Api(tls)
    client = authority.issue_cert("xgate-sync")
    client.cert_chain_pems[0].write_to_path(tmp_path / "client.pem")
    client.private_key_pem.write_to_path(tmp_path / "client.key")
    authority.cert_pem.write_to_path(tmp_path / "ca.pem")
    declared = {"auth": {"type": "client_certificate"}} | stream("/open/single", records="rows")
    try:
        good = Connection(
            url=server.url, cert=tmp_path / "client.pem", key=tmp_path / "client.key", ca=tmp_path / "ca.pem"
        )
        assert len(read(declared, good)) == len(RECORDS)
        with pytest.raises(SourceRefused, match=r"TLS with .* failed .*check the connection's cert, key and ca"):
            read(
                {"auth": {"type": "none"}} | stream("/open/single", records="rows"),
                Connection(url=server.url, ca=good.ca),
            )
        with pytest.raises(ConfigError, match="has no cert"):
            read(declared, Connection(url=server.url, ca=good.ca))
    finally:
        server.close()

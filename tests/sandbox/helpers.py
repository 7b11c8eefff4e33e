"""Read what the sandbox departments serve, the way a client would (HTTP pages, SQL, files)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import requests
import sqlalchemy as sa
from openpyxl import load_workbook

from sandbox.filedrops import HEADERS


def telecom_rows(base: str, token: str, page: int = 500, **params: str) -> list[dict]:
    rows, cursor = [], None
    while True:
        query = {"limit": page, **params} | ({"cursor": cursor} if cursor else {})
        reply = requests.get(
            f"{base}/v1/subscribers", params=query, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        reply.raise_for_status()
        body = reply.json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if not cursor:
            return rows


def fhir_resources(base: str, token: str, kind: str, count: int = 500, **params: str) -> list[dict]:
    out = []
    url: str | None = f"{base}/{kind}"
    query: dict | None = {"_count": count, **params}
    while url:
        reply = requests.get(url, params=query, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        reply.raise_for_status()
        bundle = reply.json()
        out += [e["resource"] for e in bundle.get("entry", [])]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        query = None
    return out


def sql_rows(url: str, table: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(sa.text(f"SELECT * FROM {table}"))]
    finally:
        engine.dispose()


def inbox_rows(folder: Path) -> list[dict]:
    """Every filing in the drop folder, decoded (GBK CSV) or read (XLSX), keyed by English names."""
    names = {v: k for k, v in HEADERS.items()}
    rows = []
    for file in sorted(folder.iterdir()):
        if file.suffix == ".csv":
            table = list(csv.reader(io.StringIO(file.read_bytes().decode("gbk"))))
        else:
            table = [[c if c is not None else "" for c in row] for row in load_workbook(file).active.values]
        header = [names[h] for h in table[0]]
        rows += [dict(zip(header, row)) | {"_file": file.name} for row in table[1:]]
    return rows

"""Extraction throughput on a 1M-person sandbox, against the bare floor of each kind of source.

REST: our connector (retries, state, lineage, staging) vs a plain ``requests`` page loop writing Parquet
with pyarrow. SQL (PostgreSQL): our connector vs DuckDB's postgres scanner copying the table to Parquet.
dlt's figures come from ``benchmarks/anchors.py`` in its own virtual environment when it is present.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import requests
from pydantic import SecretStr

from benchmarks.report import Result
from connectors import extract
from sandbox import dbload, store
from sandbox.servers import apis, process
from sandbox.settings import SandboxSettings
from xgate import duck
from xgate.settings import Connection, Settings

PEOPLE = 1_000_000
PAGE = 5000
ANCHORS_PYTHON = Path(".venv-anchors/bin/python")


def _bare_rest(url: str, token: str, out: Path) -> int:
    """The floor: a plain page loop, no retries, no state, no lineage."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    writer, rows, cursor = None, 0, None
    while True:
        body = session.get(
            f"{url}/v1/subscribers", params={"limit": PAGE} | ({"cursor": cursor} if cursor else {}), timeout=60
        ).json()
        table = pa.Table.from_pylist(body["data"])
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema, compression="zstd")
        writer.write_table(table.cast(writer.schema))
        rows += table.num_rows
        cursor = body["next_cursor"]
        if not cursor:
            writer.close()
            return rows


def _scanner(pg_url: str, out: Path) -> int:
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with duck.connect(extensions=("postgres_scanner",)) as con:
        con.execute(f"ATTACH '{url}' AS src (TYPE postgres, READ_ONLY)")
        con.execute(f"COPY (SELECT * FROM src.public.residents) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
        return con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]


def _timed(fn, *args) -> tuple[int, float]:
    start = time.perf_counter()
    rows = fn(*args)
    return rows, time.perf_counter() - start


class PeakMemory:
    """Extra resident memory while a block runs (sampled), to show extraction streams."""

    def __enter__(self) -> PeakMemory:
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()

    @property
    def megabytes(self) -> float:
        return (self.peak - self.base) / 2**20


def _anchors(rest_url: str, token: str, pg_url: str, out: Path) -> dict:
    if not ANCHORS_PYTHON.exists():
        return {}
    done = subprocess.run(
        [str(ANCHORS_PYTHON), "benchmarks/anchors.py", rest_url, token, pg_url, str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        print(f"dlt anchors failed: {done.stderr[-2000:]}")
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_id = uuid.uuid4().hex[:6]
        sandbox = SandboxSettings(
            data_dir=root / "sandbox",
            ports={name: 28781 + i for i, name in enumerate(apis())},
            rate_limit=10_000,
            pg_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/xgbench_{run_id}",
        )
        store.generate(sandbox, PEOPLE, seed=42)
        urls = process.serve(sandbox)
        try:
            dbload.load(sandbox, "postgres", ("civil",))
            pg = dbload.database_url(sandbox, "postgres", "civil").render_as_string(hide_password=False)
            token = store.ensure_token(sandbox)
            ours = Settings(
                data_dir=root / "xgate",
                connections={
                    "telecom": Connection(url=urls["telecom"], token=SecretStr(token)),
                    "civil": Connection(url=pg),
                },
            )
            with PeakMemory() as rest_memory:
                rows, seconds = _timed(lambda: extract(ours, "telecom", mode="full")[0].rows)
            bare_rows, bare_seconds = _timed(_bare_rest, urls["telecom"], token, root / "bare.parquet")
            assert rows == bare_rows, (rows, bare_rows)
            anchors = _anchors(urls["telecom"], token, pg, root / "dlt")
            results.append(
                Result(
                    "connectors",
                    f"REST {rows:,} subscribers, pages of {PAGE}",
                    rows / seconds,
                    "plain requests loop + pyarrow",
                    bare_rows / bare_seconds,
                    f"target >= 0.70; +{rest_memory.megabytes:.0f} MB RSS",
                )
            )
            if "rest" in anchors:
                results.append(
                    Result(
                        "connectors", "REST, same pull", rows / seconds, "dlt rest_api -> parquet", anchors["rest"], ""
                    )
                )
            with PeakMemory() as sql_memory:
                rows, seconds = _timed(lambda: extract(ours, "civil", "residents", mode="full")[0].rows)
            scan_rows, scan_seconds = _timed(_scanner, pg, root / "scan.parquet")
            assert rows == scan_rows, (rows, scan_rows)
            results.append(
                Result(
                    "connectors",
                    f"PostgreSQL {rows:,} residents",
                    rows / seconds,
                    "DuckDB postgres scanner COPY",
                    scan_rows / scan_seconds,
                    f"target >= 0.50; +{sql_memory.megabytes:.0f} MB RSS",
                )
            )
            if "sql" in anchors:
                results.append(
                    Result(
                        "connectors",
                        "PostgreSQL, same table",
                        rows / seconds,
                        "dlt sql_database (pyarrow)",
                        anchors["sql"],
                        "",
                    )
                )
        finally:
            process.stop(sandbox)
            dbload.drop(sandbox, "postgres", ("civil",))
    return results

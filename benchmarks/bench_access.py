"""The access layer's cost: lookups and free queries through it against the same SQL run directly, and
audit appends.

The lake is the warehouse suite's 1M-person lake (built once per process, :func:`bench_warehouse.build`).
Through the access layer a lookup is: role, case and ledger checks, the masked projections of its five
sections (:data:`access.lookups.PERSON`) on DuckDB, the result hash, and two audit records (started,
outcome), each fsynced, MAC-chained and anchored. Directly it is the same five sections unmasked and
unrecorded. A free query through the layer also pays for its isolated instance: attaching the lake and
copying the masked columns it uses. Audit appends are measured against appending the same JSON line to
a plain file with fsync (no lock, no chain, no anchor); with the anchor in a file and in PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from access import audit, grants, lookups, policy
from access.anchor import anchor
from access.reader import Reader
from access.users import User
from benchmarks import bench_warehouse
from benchmarks.report import Result
from warehouse import lake

LOOKUPS = int(os.environ.get("XGATE_BENCH_ACCESS_LOOKUPS", 200))
APPENDS = 2000
INVESTIGATOR = User(name="investigator", role="investigator")
CASE = "BENCH-1"
FREE_QUERY = "SELECT status, count(*) AS n, count(DISTINCT name) AS names FROM shared.phone GROUP BY status"
FREE_QUERY_SHOWN = "status, count, distinct masked names over shared.phone"
ADMIN_URL = os.environ.get("XGATE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PEOPLE = int(os.environ.get("XGATE_BENCH_ACCESS_PEOPLE", bench_warehouse.PEOPLE))


def _percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def _direct(part: lookups.Part, visible: dict) -> str:
    columns = part.columns or tuple(visible[part.view.split(".")[1]])
    constants = "".join(f"'{text}' AS {name}, " for name, text in part.constants)
    return f"SELECT {constants}{', '.join(columns)} FROM {part.view} WHERE {part.where}"


def _lookups(settings, ids: list[str]) -> tuple[list[float], list[float]]:
    visible = policy.shared_schema()["shared"]
    sections = [" UNION ALL ".join(_direct(p, visible) for p in parts) for parts in lookups.PERSON.values()]
    direct = lake.connect(settings, read_only=True)
    reader = Reader(settings)
    via, plain = [], []
    try:
        for i, person in enumerate(ids):
            start = time.perf_counter()
            for sql in sections:
                direct.execute(sql, {"value": person}).fetchall()
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            reader.read(lookups.person(INVESTIGATOR, person, CASE, "benchmark"))
            via.append(time.perf_counter() - start)
            if i < 5:  # warm-up: caches, first file reads; not counted
                via.pop(), plain.pop()
    finally:
        reader.close()
        direct.close()
    return via, plain


def _free_query(settings) -> tuple[float, float]:
    """Seconds for a free query through the layer (its own instance, masked copies) and directly."""
    direct = lake.connect(settings, read_only=True)
    try:
        start = time.perf_counter()
        direct.execute(FREE_QUERY).fetchall()
        plain = time.perf_counter() - start
    finally:
        direct.close()
    reader = Reader(settings)
    try:
        reader.read(lookups.query(INVESTIGATOR, FREE_QUERY, CASE, "benchmark"))  # plans and contracts warm
        start = time.perf_counter()
        reader.read(lookups.query(INVESTIGATOR, FREE_QUERY, CASE, "benchmark"))
        ours = time.perf_counter() - start
    finally:
        reader.close()
    return ours, plain


def _appends(settings) -> tuple[float, float]:
    entry = {"user": "investigator", "role": "investigator", "case": CASE, "purpose": "benchmark",
             "command": "person", "query": "person 510402199001011234", "rows": 3, "outcome": "allowed",
             "subjects": ["0" * 32], "result_hash": "0" * 64}  # fmt: skip
    start = time.perf_counter()
    for _ in range(APPENDS):
        audit.append(settings, entry)
    ours = APPENDS / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "plain.jsonl").open("ab") as out:
        start = time.perf_counter()
        for _ in range(APPENDS):
            out.write(json.dumps(entry).encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        plain = APPENDS / (time.perf_counter() - start)
    return ours, plain


def _postgres_anchor(settings, tmp: Path) -> float | None:
    """Appends per second with the anchor in PostgreSQL (None when no server answers)."""
    import psycopg

    name = f"xgbench_{os.getpid()}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
    except psycopg.Error:
        return None
    try:
        anchored = settings.model_copy(
            update={"audit_dir": tmp / "pg-audit", "audit_anchor": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"}
        )
        ours, _ = _appends(anchored)
        anchor(anchored)._con().close()
        return ours
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run() -> list[Result]:
    settings, _ = bench_warehouse.build(PEOPLE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = settings.model_copy(
            update={"audit_dir": folder / "audit", "access_dir": folder / "access", "users_file": _users(folder)}
        )
        grants.open_case(settings, INVESTIGATOR, CASE, "benchmark")
        con = lake.connect(settings, read_only=True)
        ids = [r[0] for r in con.execute("SELECT id_number FROM shared.dead_with_active_phone").fetchall()]
        ids += [r[0] for r in con.execute("SELECT id_number FROM raw.civil_residents USING SAMPLE 2000").fetchall()]
        con.close()
        sample = random.Random(1).sample(ids, min(LOOKUPS + 5, len(ids)))
        via, plain = _lookups(settings, sample)
        (p50, p95), (d50, d95) = _percentiles(via), _percentiles(plain)
        free, free_direct = _free_query(settings)
        ours, baseline = _appends(settings)
        appended = audit.log_path(settings).stat().st_size / len(audit.records(settings))
        in_postgres = _postgres_anchor(settings, folder)
    print(f"access: p50 {p50 * 1000:.1f} ms vs direct {d50 * 1000:.1f} ms", file=sys.stderr)
    postgres = f"; anchor in PostgreSQL: {in_postgres:,.0f} records/s" if in_postgres else ""
    return [
        Result(
            "access",
            f"person lookup ({len(lookups.PERSON)} sections) through the access layer, {PEOPLE:,} people",
            1 / p50,
            f"same {len(lookups.PERSON)} queries direct on DuckDB",
            1 / d50,
            f"p50 {p50 * 1000:.0f} ms vs {d50 * 1000:.0f} ms ({p50 / d50:.2f}x, target <= 1.5x); "
            f"p95 {p95 * 1000:.0f} vs {d95 * 1000:.0f} ms; masked projections, ledger, 2 anchored audit "
            f"records; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; rows/s columns are lookups/s",
        ),
        Result(
            "access",
            f"free query over masked copies ({FREE_QUERY_SHOWN}), {PEOPLE:,} people",
            1 / free,
            "same SQL direct on DuckDB",
            1 / free_direct,
            f"{free:.2f} s vs {free_direct:.2f} s: its own instance, the lake attached, the masked columns "
            "copied, the lake detached; rows/s columns are queries/s",
        ),
        Result(
            "access",
            f"audit appends (keyed MAC chain, file anchor, flock, fsync), {APPENDS:,} records",
            ours,
            "plain JSONL append + fsync",
            baseline,
            f"{appended / 1024:.1f} KiB per record{postgres}; rows/s columns are records/s",
        ),
    ]


def _users(folder: Path) -> Path:
    path = folder / "users.yaml"
    path.write_text(yaml.safe_dump({"users": [{"name": INVESTIGATOR.name, "role": INVESTIGATOR.role}]}))
    return path

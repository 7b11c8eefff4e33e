"""The access layer's cost: a person lookup through it against the same queries run directly, and audit appends.

The lake is the warehouse suite's 1M-person lake (built once per process, :func:`bench_warehouse.build`).
Through the access layer a lookup is: role and case checks, the grants file, the cached plan (column
masks at the scan), DuckDB, masking, the result hash, and one fsynced, hash-chained audit append.
Directly it is the same five section queries (:data:`access.lookups.PERSON`) on a plain read-only
connection, unmasked and unrecorded. Audit appends are measured against appending the same JSON line
to a plain file with fsync (no lock, no chain).
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

from access import audit, lookups
from access.reader import Reader
from access.users import User
from benchmarks import bench_warehouse
from benchmarks.report import Result
from warehouse import lake

LOOKUPS = 200
APPENDS = 2000
PEOPLE = int(os.environ.get("XGATE_BENCH_ACCESS_PEOPLE", bench_warehouse.PEOPLE))


def _percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def _lookups(settings, ids: list[str]) -> tuple[list[float], list[float]]:
    investigator = User(name="investigator", role="investigator")
    direct = lake.connect(settings, read_only=True)
    reader = Reader(settings)
    via, plain = [], []
    try:
        for i, person in enumerate(ids):
            start = time.perf_counter()
            for sql in lookups.PERSON.values():
                direct.execute(sql, {"id": person}).fetchall()
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            reader.read(lookups.person(investigator, person, "BENCH-1", "benchmark"))
            via.append(time.perf_counter() - start)
            if i < 5:  # warm-up: plans, caches, first file reads; not counted
                via.pop(), plain.pop()
    finally:
        reader.close()
        direct.close()
    return via, plain


def _appends(settings) -> tuple[float, float]:
    entry = {"user": "investigator", "role": "investigator", "case": "BENCH-1", "purpose": "benchmark",
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


def run() -> list[Result]:
    settings, _ = bench_warehouse.build(PEOPLE)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings.model_copy(update={"audit_dir": Path(tmp) / "audit", "access_dir": Path(tmp) / "access"})
        con = lake.connect(settings, read_only=True)
        ids = [r[0] for r in con.execute("SELECT id_number FROM shared.dead_with_active_phone").fetchall()]
        ids += [r[0] for r in con.execute("SELECT id_number FROM raw.civil_residents USING SAMPLE 2000").fetchall()]
        con.close()
        sample = random.Random(1).sample(ids, min(LOOKUPS + 5, len(ids)))
        via, plain = _lookups(settings, sample)
        (p50, p95), (d50, d95) = _percentiles(via), _percentiles(plain)
        ours, baseline = _appends(settings)
        appended = audit.log_path(settings).stat().st_size
    print(f"access: p50 {p50 * 1000:.1f} ms vs direct {d50 * 1000:.1f} ms", file=sys.stderr)
    return [
        Result(
            "access",
            f"person lookup (5 sections) through the access layer, {PEOPLE:,} people",
            1 / p50,
            "same 5 queries direct on DuckDB",
            1 / d50,
            f"p50 {p50 * 1000:.0f} ms vs {d50 * 1000:.0f} ms ({p50 / d50:.2f}x, target <= 1.5x); "
            f"p95 {p95 * 1000:.0f} vs {d95 * 1000:.0f} ms; rows/s columns are lookups/s",
        ),
        Result(
            "access",
            f"audit appends (hash chain, flock, fsync), {APPENDS:,} records",
            ours,
            "plain JSONL append + fsync",
            baseline,
            f"{appended / (APPENDS + len(via) + 5) / 1024:.1f} KiB per record; rows/s columns are records/s",
        ),
    ]

"""Run the benchmark suite and write docs/benchmarks.md (machine, date, figures, ratios).

``python -m benchmarks contracts warehouse`` re-measures only those suites and keeps the other rows of
docs/benchmarks.md as they were (their date is the previous run's).
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from benchmarks import (
    bench_access,
    bench_connectors,
    bench_contracts,
    bench_linkage,
    bench_sandbox,
    bench_warehouse,
    bench_web,
)
from benchmarks.report import Result, write_report

SUITES = {
    "sandbox": bench_sandbox,
    "connectors": bench_connectors,
    "contracts": bench_contracts,
    "warehouse": bench_warehouse,
    "access": bench_access,
    "linkage": bench_linkage,
    "web": bench_web,
}
REPORT = Path("docs/benchmarks.md")


def main(names: list[str]) -> None:
    chosen = names or list(SUITES)
    unknown = [n for n in chosen if n not in SUITES]
    if unknown:
        sys.exit(f"unknown suite(s) {unknown}; known: {', '.join(SUITES)}")
    results: list[Result] = []
    for name in chosen:
        results += SUITES[name].run()
    kept = []
    if names and REPORT.exists():
        kept = [
            line
            for line in REPORT.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and line.split("|")[1].strip() in set(SUITES) - set(chosen)
        ]
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"
    )
    write_report(REPORT, results, machine, datetime.date.today().isoformat(), kept)


if __name__ == "__main__":
    main(sys.argv[1:])

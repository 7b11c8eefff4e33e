"""Run the benchmark suite and write docs/benchmarks.md (machine, date, figures, ratios)."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

from benchmarks import bench_connectors, bench_contracts, bench_sandbox, bench_warehouse
from benchmarks.report import Result, write_report

SUITES = (bench_sandbox, bench_connectors, bench_contracts, bench_warehouse)


def main() -> None:
    results: list[Result] = []
    for suite in SUITES:
        results += suite.run()
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"
    )
    write_report(Path("docs/benchmarks.md"), results, machine, datetime.date.today().isoformat())


if __name__ == "__main__":
    main()

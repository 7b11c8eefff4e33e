"""One row per measurement, always beside its baseline from the same run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class Result:
    suite: str
    task: str
    rows_per_s: float
    baseline: str
    baseline_rows_per_s: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.rows_per_s / self.baseline_rows_per_s


def write_report(path: Path, results: list[Result], machine: str, day: str) -> None:
    table = Table("suite", "task", "xgate rows/s", "baseline", "baseline rows/s", "ratio", "note")
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {day}, {machine}. Ratios are xgate / baseline, both measured in",
        "the same run (above 1 means xgate is faster).",
        "",
        "| suite | task | xgate rows/s | baseline | baseline rows/s | ratio | note |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in results:
        cells = (
            r.suite,
            r.task,
            f"{r.rows_per_s:,.0f}",
            r.baseline,
            f"{r.baseline_rows_per_s:,.0f}",
            f"{r.ratio:.2f}",
            r.note,
        )
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

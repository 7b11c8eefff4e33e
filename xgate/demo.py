"""``make demo``: the whole path on the embedded default, start to finish, then a summary.

Generates the sandbox prefecture, starts the department systems, fills the SQLite department
databases, and stops everything again, printing what each department serves and what to try next.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from sandbox import store, waves
from sandbox.servers import process
from xgate.settings import get_settings

DEMO_PEOPLE = 20_000
console = Console()


def main() -> None:
    settings = get_settings()
    started = time.monotonic()
    process.stop(settings)
    with console.status(f"generating the sandbox ({DEMO_PEOPLE:,} people)"):
        summary = store.generate(settings, DEMO_PEOPLE, seed=42)
    urls = process.serve(settings)
    try:
        waves.load_databases(settings, "sqlite", ("civil", "housing"))
        table = Table("department system", "dataset", "rows", title="xgate demo: department sandbox")
        where = {
            "civil": settings.sqlite_url("civil"),
            "housing": settings.sqlite_url("housing"),
            "telecom": urls["telecom"],
            "health": urls["health"],
        }
        for name, rows in summary["rows"].items():
            department = name.split(".")[0]
            source = store.paths(settings).inbox if name == "housing.rental_filings" else where[department]
            table.add_row(str(source), name, f"{rows:,}")
        console.print(table)
        console.print(
            "planted anomalies (ground truth in manifest.json): "
            + ", ".join(f"{k} {v}" for k, v in summary["anomalies"].items())
        )
    finally:
        process.stop(settings)
    console.print(f"done in {time.monotonic() - started:.1f}s. Next: xgate sandbox serve | xgate sandbox status")


if __name__ == "__main__":
    main()

"""``make demo``: the whole path on the embedded default, start to finish, then a summary.

Generates the sandbox prefecture, starts the department systems, fills the SQLite department
databases, extracts every declared source into staging, and stops everything again, printing per
source what was extracted and how long it took, and what to try next.
"""

from __future__ import annotations

import shutil
import time

from rich.console import Console
from rich.table import Table

from connectors import extract, sources
from sandbox import store, waves
from sandbox.servers import process
from xgate.settings import get_settings

DEMO_PEOPLE = 20_000
console = Console()


def main() -> None:
    settings = get_settings()
    started = time.monotonic()
    process.stop(settings)
    for leftover in (settings.staging_dir, settings.state_dir):  # the demo starts from nothing
        shutil.rmtree(leftover, ignore_errors=True)
    with console.status(f"generating the sandbox ({DEMO_PEOPLE:,} people)"):
        summary = store.generate(settings, DEMO_PEOPLE, seed=42)
    process.serve(settings)
    try:
        waves.load_databases(settings, "sqlite", ("civil", "housing"))
        table = Table("source", "kind", "stream", "rows extracted", "seconds", title="xgate demo: extract")
        for source in sources(settings.sources_dir).values():
            for stream in source.streams:
                begun = time.monotonic()
                [batch] = extract(settings, source.name, stream.name)
                table.add_row(
                    source.name, source.kind, stream.name, f"{batch.rows:,}", f"{time.monotonic() - begun:.1f}"
                )
        console.print(table)
        console.print(
            "planted anomalies (ground truth in manifest.json): "
            + ", ".join(f"{k} {v}" for k, v in summary["anomalies"].items())
        )
    finally:
        process.stop(settings)
    console.print(f"done in {time.monotonic() - started:.1f}s; staged batches in {settings.staging_dir}.")
    console.print("Next: .venv/bin/xgate sources | .venv/bin/xgate sandbox serve | .venv/bin/xgate extract telecom")


if __name__ == "__main__":
    main()

"""``make demo``: the whole path on the embedded default, start to finish, then a summary.

Generates the sandbox prefecture, starts the department systems, fills the SQLite department
databases, extracts every declared source into staging, validates each batch against its contract
(passing rows on, failing rows to quarantine), writes the auditor's report, and stops everything again,
printing per stream what was extracted, passed and quarantined, and what to try next.
"""

from __future__ import annotations

import shutil
import time

from rich.console import Console
from rich.table import Table

from connectors import extract, sources
from contracts import validate_batch
from contracts.report import write_report
from sandbox import store, waves
from sandbox.servers import process
from xgate.settings import get_settings

DEMO_PEOPLE = 20_000
DEMO_ORDER = ("civil", "housing", "housing_filings", "telecom", "health")  # civil first: others refer to it
console = Console()


def main() -> None:
    settings = get_settings()
    started = time.monotonic()
    process.stop(settings)
    for leftover in (
        settings.staging_dir,
        settings.state_dir,
        settings.data_dir / "validated",
        settings.data_dir / "quality",
    ):  # the demo starts from nothing
        shutil.rmtree(leftover, ignore_errors=True)
    with console.status(f"generating the sandbox ({DEMO_PEOPLE:,} people)"):
        summary = store.generate(settings, DEMO_PEOPLE, seed=42)
    process.serve(settings)
    try:
        waves.load_databases(settings, "sqlite", ("civil", "housing"))
        table = Table(
            "source",
            "kind",
            "stream",
            "extracted",
            "passed",
            "quarantined",
            "seconds",
            title="xgate demo: extract -> validate",
        )
        for name in DEMO_ORDER:
            source = sources(settings.sources_dir)[name]
            for stream in source.streams:
                begun = time.monotonic()
                [batch] = extract(settings, source.name, stream.name)
                outcome = validate_batch(settings, batch.batch_id)
                table.add_row(
                    source.name,
                    source.kind,
                    stream.name,
                    f"{batch.rows:,}",
                    f"{outcome.rows_passed:,}",
                    f"{outcome.rows_quarantined:,}",
                    f"{time.monotonic() - begun:.1f}",
                )
        console.print(table)
        console.print(f"auditor report: {write_report(settings)}")
        console.print(
            "planted anomalies (ground truth in manifest.json): "
            + ", ".join(f"{k} {v}" for k, v in summary["anomalies"].items())
        )
    finally:
        process.stop(settings)
    console.print(f"done in {time.monotonic() - started:.1f}s; staged batches in {settings.staging_dir}.")
    console.print(
        "Next: .venv/bin/xgate sources | .venv/bin/xgate report | .venv/bin/xgate validate telecom.subscribers FILE"
    )


if __name__ == "__main__":
    main()

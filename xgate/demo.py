"""``make demo``: the whole path on the embedded default, start to finish, then a summary.

Generates the sandbox prefecture, starts the department systems, fills the SQLite department
databases, syncs every declared source (extract, validate against its contract, land in the DuckLake
warehouse), scores the discrepancy views against the sandbox's ground truth, writes the auditor's
report, and stops everything again, printing what happened and what to try next.
"""

from __future__ import annotations

import shutil
import time

from rich.console import Console
from rich.table import Table

from connectors import sources
from contracts.report import write_report
from sandbox import store, waves
from sandbox.manifest import read_manifest
from sandbox.servers import process
from warehouse import lake
from warehouse.model import score
from warehouse.sync import sync
from xgate.settings import Settings, get_settings

DEMO_PEOPLE = 20_000
DEMO_ORDER = ("civil", "housing", "housing_filings", "telecom", "health")  # civil first: others refer to it
console = Console()


def _discrepancies(settings: Settings) -> Table:
    con = lake.connect(settings, read_only=True)
    try:
        scores = score(con, read_manifest(store.paths(settings).manifest))
    finally:
        con.close()
    table = Table(
        "discrepancy view", "rows", "planted", "precision", "recall", title="anomalies found in the warehouse"
    )
    for view, s in scores.items():
        table.add_row(view, f"{s['found']:,}", f"{s['planted']:,}", f"{s['precision']:.1%}", f"{s['recall']:.1%}")
    return table


def main() -> None:
    settings = get_settings()
    started = time.monotonic()
    process.stop(settings)
    for leftover in (
        settings.staging_dir,
        settings.state_dir,
        settings.data_dir / "validated",
        settings.data_dir / "quality",
        settings.warehouse_dir,
    ):  # the demo starts from nothing
        shutil.rmtree(leftover, ignore_errors=True)
    with console.status(f"generating the sandbox ({DEMO_PEOPLE:,} people)"):
        store.generate(settings, DEMO_PEOPLE, seed=42)
    process.serve(settings)
    try:
        waves.load_databases(settings, "sqlite", ("civil", "housing"))
        table = Table(
            "run",
            "source",
            "stream",
            "extracted",
            "landed",
            "quarantined",
            "seconds",
            title="xgate demo: extract -> validate -> land",
        )
        for run in ("0", "1"):  # the second run (after the sandbox moves to wave 1) takes only what changed
            if run == "1":
                waves.advance(settings)
            for name in DEMO_ORDER:
                begun = time.monotonic()
                for result in sync(settings, sources(settings.sources_dir)[name].name):
                    table.add_row(
                        run,
                        name,
                        result.stream,
                        f"{result.extracted:,}",
                        f"{result.landed:,}",
                        f"{result.quarantined:,}",
                        f"{time.monotonic() - begun:.1f}",
                    )
                    begun = time.monotonic()
        console.print(table)
        console.print(_discrepancies(settings))
        console.print(f"auditor report: {write_report(settings)}")
    finally:
        process.stop(settings)
    console.print(f"done in {time.monotonic() - started:.1f}s; warehouse in {settings.warehouse_dir}.")
    console.print(
        "Next: .venv/bin/xgate tables | .venv/bin/xgate discrepancies | .venv/bin/xgate snapshots | "
        ".venv/bin/xgate report"
    )


if __name__ == "__main__":
    main()

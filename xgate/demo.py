"""``make demo``: the whole path on the embedded default, through Airflow, start to finish, then a summary.

Prepares an Airflow home under the data directory (SQLite metadata, the DAGs of ``dags/``), generates
the sandbox prefecture, starts the department systems, fills the SQLite department databases, runs
every source's sync DAG (extract, validate against its contract, land in the DuckLake warehouse),
moves the sandbox to its next wave and runs them again, runs the shared DAG (person linkage, views, the
auditor's report), scores the linkage and the discrepancy views against the sandbox's ground truth, and stops
everything again, printing what happened and what to try next.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from connectors import sources
from contracts.checks import contracts
from orchestration.home import prepare
from sandbox import store, waves
from sandbox.manifest import read_manifest
from sandbox.scoring import score
from sandbox.servers import process
from sandbox.settings import SandboxSettings
from warehouse import lake
from xgate.settings import Settings, get_settings, reset_settings

DEMO_PEOPLE = 20_000
console = Console()


def demo_order() -> list[str]:
    """Every declared source; those whose datasets other contracts refer to first (civil affairs: the
    others check their IDs against its residents), then by name."""
    every = contracts().values()
    referenced = {c.arg.get("dataset") for contract in every for c in contract.checks if c.name == "references"}
    owner = {contract.id: contract.source.split(".")[0] for contract in every}
    first = {owner[d] for d in referenced if d in owner}
    return sorted(sources(), key=lambda name: (name not in first, name))


def _discrepancies(settings: Settings, sandbox: SandboxSettings) -> Table:
    con = lake.connect(settings, read_only=True)
    try:
        scores = score(con, read_manifest(store.paths(sandbox).manifest))
    finally:
        con.close()
    table = Table(
        "discrepancy view",
        "rows",
        "planted",
        "precision",
        "recall",
        "recall per variant",
        title="anomalies found in the warehouse (joined on person_key)",
    )
    for view, s in scores.items():
        variants = ", ".join(f"{v} {r:.0%}" for v, r in s["variants"].items())
        table.add_row(
            view, f"{s['found']:,}", f"{s['planted']:,}", f"{s['precision']:.1%}", f"{s['recall']:.1%}", variants
        )
    return table


def _linkage(settings: Settings, sandbox: SandboxSettings) -> Table:
    """Precision, recall and F1 of the person linkage per department pair and planted kind."""
    from linkage.score import lake_scores

    con = lake.connect(settings, read_only=True)
    try:
        paths = store.paths(sandbox)
        scores = lake_scores(con, paths.truth, read_manifest(paths.manifest))
    finally:
        con.close()
    table = Table(
        "pairs of", "true pairs", "precision", "recall", "F1", title="person linkage against the sandbox truth"
    )
    for name, s in scores.items():
        table.add_row(name, f"{s['pairs']:,}", f"{s['precision']:.2%}", f"{s['recall']:.2%}", f"{s['f1']:.4f}")
    return table


def main() -> None:
    settings = get_settings()
    sandbox = SandboxSettings(data_dir=settings.data_dir)
    started = time.monotonic()
    process.stop(sandbox)
    for leftover in (
        settings.staging_dir,
        settings.state_dir,
        settings.data_dir / "validated",
        settings.data_dir / "quality",
        settings.warehouse_dir,
        settings.data_dir / "airflow",
    ):  # the demo starts from nothing
        shutil.rmtree(leftover, ignore_errors=True)
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # the summary, not every task's log
    with console.status("preparing the Airflow home"):
        home = prepare(settings)
    from orchestration.run import run_dag

    with console.status(f"generating the sandbox ({DEMO_PEOPLE:,} people)"):
        store.generate(sandbox, DEMO_PEOPLE, seed=42)
    process.serve(sandbox)  # and the connection profile: where xgate finds the departments
    failed = []
    try:
        waves.load_databases(sandbox, "sqlite", ("civil", "housing"))
        reset_settings()  # the DAG tasks read the profile just written
        settings = get_settings()
        table = Table(
            "run",
            "source DAG",
            "stream",
            "extracted",
            "landed",
            "quarantined",
            "seconds",
            title="xgate demo: Airflow DAG runs, extract -> validate -> land -> publish",
        )
        for run in ("0", "1"):  # the second run (after the sandbox moves to wave 1) takes only what changed
            if run == "1":
                waves.advance(sandbox)
            for name in (*demo_order(), "shared"):
                begun = time.monotonic()
                with console.status(f"run {run}: xgate_{name}"):
                    result = run_dag(f"xgate_{name}")
                seconds = f"{time.monotonic() - begun:.1f}"
                if not result.ok:
                    failed.append(f"{result.dag_id} (run {run}): {result.state}, {result.failed}")
                for landed in sorted(result.landed, key=lambda r: r["stream"]):
                    row = (f"{landed[k]:,}" for k in ("extracted", "landed", "quarantined"))
                    table.add_row(run, name, landed["stream"], *row, seconds)
                    seconds = ""
                if not result.landed:
                    table.add_row(run, name, "(views, report)", "", "", "", seconds)
        console.print(table)
        console.print(_linkage(settings, sandbox))
        console.print(_discrepancies(settings, sandbox))
        console.print(f"auditor report: {settings.data_dir / 'reports' / 'quality.html'}")
    finally:
        process.stop(sandbox)
    console.print(
        f"done in {time.monotonic() - started:.1f}s; warehouse in {settings.warehouse_dir}, Airflow in {home}."
    )
    if failed:
        console.print("[bold red]failed DAG runs:[/] " + "; ".join(failed))
        sys.exit(1)
    someone = store.visible(sandbox, "civil.residents")["id_number"][0].as_py()  # synthetic sandbox person
    passwords = _demo_users(settings)
    console.print(
        "Next (source .venv/bin/activate):\n"
        "  xgate tables | xgate discrepancies | xgate snapshots | xgate report\n"
        f"  xgate login investigator --password-file {passwords / 'investigator'}\n"
        '  xgate case open DEMO-1 --title "try the access layer"\n'
        f'  xgate person {someone} --case DEMO-1 --purpose "try the access layer"\n'
        f"  xgate login auditor --password-file {passwords / 'auditor'}\n"
        "  xgate audit show --last 5 | xgate audit verify\n"
        "  make airflow   (the Airflow UI on the same DAGs)\n"
        "The web workbench on this demo lake:\n"
        "  xgate web   (then open http://127.0.0.1:8000/ and sign in as investigator, auditor, admin or engineer\n"
        f"             with the password in {passwords}/<name>)"
    )


def _demo_users(settings: Settings) -> Path:
    """The demo's users (one per role, generated passwords), made once; where their passwords are."""
    from access import store as access_store
    from access import users
    from access.cli_admin import users_init

    if not users.users_path(settings).exists():
        users_init()
    return access_store.access_dir(settings) / "passwords"


if __name__ == "__main__":
    main()

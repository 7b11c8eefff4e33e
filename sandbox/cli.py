"""``xgate sandbox``: generate the synthetic prefecture and run its department systems."""

from __future__ import annotations

from enum import StrEnum
from importlib.util import find_spec
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sandbox.settings import SandboxSettings
from xgate.errors import ConfigError
from xgate.settings import PROFILE

app = typer.Typer(
    help="The department sandbox: a synthetic population served the way each department serves it.",
    no_args_is_help=True,
)
console = Console()


def sandbox_settings() -> SandboxSettings:
    """The sandbox's own settings; its libraries (Faker, FastAPI, uvicorn) come with the [sandbox] extra."""
    missing = [name for name in ("faker", "fastapi", "uvicorn") if find_spec(name) is None]
    if missing:
        raise ConfigError(f"the sandbox needs {', '.join(missing)}: pip install 'xgate[sandbox]'")
    return SandboxSettings()


class Target(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"
    mysql = "mysql"


class Department(StrEnum):
    civil = "civil"
    housing = "housing"


@app.command()
def generate(
    people: Annotated[int, typer.Option(help="How many people live in the prefecture.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 42,
) -> None:
    """Generate the population, every department's data, the GBK/XLSX inbox and the ground-truth manifest."""
    from sandbox import store
    from sandbox.servers import process
    from xgate.progress import progress

    settings = sandbox_settings()
    if process.running_pid(settings):
        raise ConfigError("sandbox servers are running; 'xgate sandbox stop' before regenerating")
    with progress() as step:
        summary = store.generate(settings, people, seed, step)
    table = Table("dataset", "rows", title=f"sandbox in {store.paths(settings).root}")
    for name, rows in summary["rows"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print("planted anomalies: " + ", ".join(f"{k} {v}" for k, v in summary["anomalies"].items()))


@app.command()
def serve() -> None:
    """Start the department APIs (telecom REST, health FHIR, ...) in the background; write the connection profile."""
    from sandbox import store
    from sandbox.servers import process

    settings = sandbox_settings()
    urls = process.serve(settings)
    for name, url in urls.items():
        console.print(f"{name:16} {url}")
    console.print(f"{'token':16} {store.paths(settings).token} (or XGATE_SANDBOX_TOKEN)")
    console.print(f"{'profile':16} {settings.data_dir / PROFILE} (XGATE_CONNECTIONS__* for xgate)")


@app.command()
def stop() -> None:
    """Stop the sandbox servers."""
    from sandbox.servers import process

    console.print("stopped" if process.stop(sandbox_settings()) else "no sandbox servers were running")


@app.command("load-db")
def load_db(
    target: Annotated[Target, typer.Option(help="sqlite files, or the PostgreSQL / MariaDB server.")] = Target.sqlite,
    dept: Annotated[list[Department] | None, typer.Option(help="Department(s); default both.")] = None,
) -> None:
    """Create and fill the civil-affairs and housing databases as of the current wave."""
    from sandbox import dbload, waves

    settings = sandbox_settings()
    departments = tuple(d.value for d in dept) if dept else ("civil", "housing")
    counts = waves.load_databases(settings, target.value, departments)
    for department in departments:
        console.print(f"{department:8} {dbload.database_url(settings, target.value, department).render_as_string()}")
    for name, rows in counts.items():
        console.print(f"  {name:24} {rows:,} rows")


@app.command()
def advance() -> None:
    """Move every department to the next (and last) wave: updates, some arriving late, and new file drops."""
    from sandbox import waves

    console.print(f"sandbox at wave {waves.advance(sandbox_settings())}")


@app.command()
def status() -> None:
    """Wave, servers and databases of the sandbox."""
    from sandbox import store
    from sandbox.servers import process

    settings = sandbox_settings()
    state = store.read_state(settings)
    pid = process.running_pid(settings)
    console.print(f"people {state['people']:,}, seed {state['seed']}, wave {state['wave']}")
    console.print(f"servers: running (pid {pid})" if pid else "servers: stopped")
    if pid:
        for name, url in process.urls(settings).items():
            console.print(f"  {name:8} {url}")
    for department, targets in state.get("databases", {}).items():
        console.print(f"  {department:8} databases: {', '.join(targets)}")


@app.command()
def score(
    as_of: Annotated[int | None, typer.Option("--as-of", help="Warehouse snapshot to read.")] = None,
) -> None:
    """Precision and recall of the warehouse's discrepancy views against the sandbox's ground truth."""
    from sandbox import store
    from sandbox.manifest import read_manifest
    from sandbox.scoring import score as score_views
    from warehouse import lake
    from xgate.settings import get_settings

    manifest = read_manifest(store.paths(sandbox_settings()).manifest)
    con = lake.connect(get_settings(), read_only=True, as_of=as_of)
    try:
        scores = score_views(con, manifest)
    finally:
        con.close()
    table = Table("view", "found", "planted", "precision", "recall", title="discrepancies against the ground truth")
    for view, s in scores.items():
        table.add_row(view, f"{s['found']:,}", f"{s['planted']:,}", f"{s['precision']:.1%}", f"{s['recall']:.1%}")
    console.print(table)

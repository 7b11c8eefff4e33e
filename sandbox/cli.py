"""``xgate sandbox``: generate the synthetic prefecture and run its department systems."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from xgate.errors import ConfigError
from xgate.settings import get_settings

app = typer.Typer(
    help="The department sandbox: a synthetic population served the way each department serves it.",
    no_args_is_help=True,
)
console = Console()


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

    settings = get_settings()
    if process.running_pid(settings):
        raise ConfigError("sandbox servers are running; 'xgate sandbox stop' before regenerating")
    with console.status(f"generating {people:,} people (seed {seed})"):
        summary = store.generate(settings, people, seed)
    table = Table("dataset", "rows", title=f"sandbox in {store.paths(settings).root}")
    for name, rows in summary["rows"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print("planted anomalies: " + ", ".join(f"{k} {v}" for k, v in summary["anomalies"].items()))


@app.command()
def serve() -> None:
    """Start the telecom REST API and the health FHIR server in the background."""
    from sandbox import store
    from sandbox.servers import process

    urls = process.serve(get_settings())
    for name, url in urls.items():
        console.print(f"{name:8} {url}")
    console.print(f"token    {store.paths(get_settings()).token} (or XGATE_SANDBOX_TOKEN)")


@app.command()
def stop() -> None:
    """Stop the sandbox servers."""
    from sandbox.servers import process

    console.print("stopped" if process.stop(get_settings()) else "no sandbox servers were running")


@app.command("load-db")
def load_db(
    target: Annotated[Target, typer.Option(help="sqlite files, or the PostgreSQL / MariaDB server.")] = Target.sqlite,
    dept: Annotated[list[Department] | None, typer.Option(help="Department(s); default both.")] = None,
) -> None:
    """Create and fill the civil-affairs and housing databases as of the current wave."""
    from sandbox import dbload, waves

    settings = get_settings()
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

    console.print(f"sandbox at wave {waves.advance(get_settings())}")


@app.command()
def status() -> None:
    """Wave, servers and databases of the sandbox."""
    from sandbox import store
    from sandbox.servers import process

    settings = get_settings()
    state = store.read_state(settings)
    pid = process.running_pid(settings)
    console.print(f"people {state['people']:,}, seed {state['seed']}, wave {state['wave']}")
    console.print(f"servers: running (pid {pid})" if pid else "servers: stopped")
    if pid:
        for name, url in process.urls(settings).items():
            console.print(f"  {name:8} {url}")
    for department, targets in state.get("databases", {}).items():
        console.print(f"  {department:8} databases: {', '.join(targets)}")

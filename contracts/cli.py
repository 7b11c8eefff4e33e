"""``xgate validate``: check a local export against a contract before sending it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from contracts.checks import compile_contract, contracts, field_line
from contracts.loader import ContractError
from xgate.errors import ConfigError, XgateError
from xgate.settings import get_settings

console = Console()


def _contract(name: str):
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        from access.files import checked

        return compile_contract(checked(get_settings(), path))
    known = contracts()
    if name not in known:
        raise ConfigError(f"unknown contract {name!r}; known: {', '.join(known)}")
    return known[name]


def read_local(path: Path, header_map: dict[str, str]) -> pa.Table:
    """A CSV (UTF-8/GBK/GB18030), XLSX, Parquet or JSON file as text columns named like the contract."""
    from connectors.files import _load

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        from connectors.records import json_table

        text = path.read_text(encoding="utf-8")
        records = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x]
        return json_table(records)[0]
    if suffix in (".csv", ".xlsx"):
        header, rows, _ = _load(path)
        names = [header_map.get(h, h) for h in header]
        return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})
    raise ConfigError(f"{path}: unsupported file type {suffix!r} (CSV, XLSX, Parquet or JSON)")


def validate(
    contract: Annotated[str, typer.Argument(help="Dataset id (e.g. telecom.subscribers) or a contract YAML file.")],
    file: Annotated[Path, typer.Argument(help="CSV, XLSX, Parquet or JSON export to check.", exists=True)],
) -> None:
    """Check a local file against a contract; nothing is stored. Exit 1 if any row would be quarantined."""
    from access.files import checked
    from connectors.declarations import sources
    from contracts.validate import validate as run_validation

    file = checked(get_settings(), file)  # the caller's file, never xgate's own stores
    spec = _contract(contract)
    source, _, stream = spec.source.partition(".")
    declared = sources(get_settings().sources_dir).get(source)
    header_map = declared.stream(stream).columns if declared and declared.kind == "files" else {}
    try:
        table = read_local(file, header_map)
    except XgateError:
        raise
    except Exception as exc:  # a file the readers cannot parse at all
        raise ConfigError(f"{file}: cannot be read: {exc}") from None
    missing = [f for f in spec.fields if f not in table.column_names]
    if missing:
        raise ContractError(
            spec.path,
            field_line(spec, missing[0]),
            f"field {missing[0]!r} is not in {file.name} (it has {', '.join(table.column_names[:12])})",
        )
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "export.parquet"
        pq.write_table(table, staged)
        outcome = run_validation(get_settings(), spec, [staged], batch_id=f"local-{file.stem}", write=False)
    summary = Table("rule", "severity", "failed", "of", title=f"{file.name} against {spec.id} {spec.version}")
    for rule in outcome.rules:
        if rule.unexpected or rule.skipped:
            summary.add_row(
                rule.check.key, rule.check.severity, f"{rule.unexpected:,}", rule.skipped or f"{rule.checked:,}"
            )
    console.print(summary)
    console.print(
        f"rows {outcome.rows_in:,}: would land {outcome.rows_passed:,}, would be quarantined "
        f"{outcome.rows_quarantined:,}" + (f"\n[red]{outcome.held}[/]" if outcome.held else "")
    )
    if outcome.drift:
        console.print(f"[yellow]schema drift[/]: {outcome.drift} (policy: {spec.schema_drift})")
    if outcome.rows_quarantined:
        raise typer.Exit(1)


def report(
    out: Annotated[
        Path | None, typer.Option(help="Where to write the HTML (default: <data dir>/reports/quality.html).")
    ] = None,
) -> None:
    """Write the auditor's data-quality report: one self-contained HTML file."""
    from access.files import checked
    from contracts.report import write_report

    out = checked(get_settings(), out, write=True) if out is not None else None
    console.print(f"report written to {write_report(get_settings(), out)}")

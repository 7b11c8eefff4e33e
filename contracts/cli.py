"""``xgate validate``: check a local export against a contract before sending it."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from contracts.checks import compile_contract, contract
from xgate.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_HELD, EXIT_REJECTED, ConfigError, XgateError
from xgate.settings import Connection, Settings, get_settings

console = Console()


def _contract(name: str):
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        from access.files import checked
        from contracts.checks import check_files
        from contracts.loader import ContractError

        copy = checked(get_settings(), path)  # a copy of the caller's file: name their own in what is said
        problems = check_files([copy])
        if problems:
            raise ContractError(path.resolve(), problems[0].line, problems[0].reason)
        return compile_contract(copy)
    return contract(name)


def read_local(path: Path) -> pa.Table:
    """A Parquet or JSON export as a table (CSV and spreadsheets go through the file-drop reader)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        from connectors.records import json_table

        text = path.read_text(encoding="utf-8")
        records = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x]
        return json_table(records)[0]
    raise ConfigError(f"{path.name}: unsupported file type {suffix!r} (CSV, XLSX, XLS, Parquet or JSON)")


# What the department can do about a failing cell, by rule name.
HOW_TO_FIX = {
    "excel_number": "format the column as Text before typing or pasting IDs (Excel kept only 15 digits)",
    "control_chars": "remove the invisible control characters (NUL ...) from the cell",
    "not_null": "fill in the cell",
    "unique": "each record once: remove or correct the duplicate",
    "pattern": "correct the value to the expected format",
    "allowed_values": "use one of the contract's listed values",
    "type": "enter a value of the field's type (a date as YYYY-MM-DD, a number without units)",
    "between": "correct the value: it is outside the allowed range",
    "id_number": "correct the ID number: its check digit, date or area code is wrong",
    "references": "the record it refers to is unknown: correct the reference",
    "held": "the whole batch is held (the reason is above): fix that first",
}


def _staged(settings: Settings, spec, file: Path, tmp: Path) -> tuple[list[Path], str, list[str]]:
    """The file as sync would stage it: through the stream's own reader when the contract's source is a file
    drop (same decoding, header search, rejections), else read as Parquet or JSON. (files, rejected, notes)"""
    from connectors import declarations, staging
    from connectors.files import FileReader
    from connectors.reader import Bounds

    source_name, _, stream_name = spec.source.partition(".")
    declared = declarations.sources(settings.sources_dir).get(source_name)
    local = settings.model_copy(update={"data_dir": tmp / "data"})
    writer = staging.BatchWriter(local, source_name, stream_name, f"{source_name}-{stream_name}-local-0")
    if declared and declared.kind == "files" and file.suffix.lower() not in (".parquet", ".json", ".jsonl", ".ndjson"):
        inbox = tmp / "inbox"
        inbox.mkdir()
        shutil.copy(file, inbox / file.name)
        reader = FileReader(declared, declared.stream(stream_name), Connection(url=str(inbox)), local, only=file.name)
        for chunk in reader.read(Bounds()):
            writer.write(chunk.rows, chunk.origin)
        if reader.rejected:
            writer.abort()
            return [], "; ".join(reader.rejected.values()), []
        notes = [note for said in reader.notes.values() for note in said]
    else:
        if file.suffix.lower() in (".csv", ".xlsx", ".xls"):
            raise ConfigError(
                f"{file.name}: {spec.id} is not fed by file drops, so CSV and spreadsheets are not how it arrives; "
                "give its export as Parquet or JSON"
            )
        table = read_local(file)
        writer.write(table, [f"file={file.name}#row={i + 2}" for i in range(table.num_rows)])
        notes = []
    writer.close({})
    return staging.batch_files(local, writer.batch_id), "", notes


def _failing_rows(local: Settings, spec, batch_id: str, headers: dict[str, str]) -> list[dict]:
    """Every quarantined cell: the line in the file, the column as the department named it, value, rule, fix."""
    import duckdb

    path = local.data_dir / "quality" / "quarantine" / f"{batch_id}.parquet"
    if not path.exists():
        return []
    found = duckdb.sql(
        "SELECT json_extract_string(record, '$._origin'), column_name, value, rule_key "
        f"FROM read_parquet('{path}') ORDER BY row_number, rule_key"
    ).fetchall()
    rows = []
    for origin, column, value, rule in found:
        name = rule.removeprefix(f"{spec.id}__").split("__")[-1]
        line = (origin or "").rpartition("#row=")[2]
        rows.append(
            {
                "line": int(line) if line.isdigit() else None,
                "column": headers.get(column or "", column or ""),
                "value": value,
                "rule": rule.removeprefix(f"{spec.id}__"),
                "how to fix": HOW_TO_FIX.get(name, "correct the value as the contract's rule says"),
            }
        )
    return rows


def _write_failures(rows: list[dict], out: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("failures")
    sheet.append(["line", "column", "value", "rule", "how to fix"])
    for row in rows:
        sheet.append([row["line"], row["column"], row["value"], row["rule"], row["how to fix"]])
    book.save(out)


def validate(
    contract: Annotated[str, typer.Argument(help="Dataset id (e.g. telecom.subscribers) or a contract YAML file.")],
    file: Annotated[Path, typer.Argument(help="CSV, XLSX, XLS, Parquet or JSON export to check.", exists=True)],
    failures: Annotated[
        Path | None, typer.Option("--failures", help="Write every failing row to this XLSX for the department.")
    ] = None,
    show: Annotated[int, typer.Option(help="Failing rows to print (all of them go to --failures).")] = 20,
) -> None:
    """Check a local file as sync would (same reader, same rules); nothing is stored. Exit 1 if any row
    would be quarantined, 3 if the batch would be held, 4 if the file would be rejected."""
    from access.files import checked, written
    from connectors.declarations import sources
    from contracts.validate import validate as run_validation

    settings = get_settings()
    file = checked(settings, file)  # a copy of the caller's file, never one of xgate's own stores
    spec = _contract(contract)
    source, _, stream = spec.source.partition(".")
    declared = sources(settings.sources_dir).get(source)
    drop = declared is not None and declared.kind == "files"
    headers = {v: k for k, v in declared.stream(stream).columns.items()} if drop else {}
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            staged, rejected, notes = _staged(settings, spec, file, Path(tmp))
        except XgateError:
            raise
        except Exception as exc:  # a file the readers cannot parse at all
            raise ConfigError(f"{file.name}: cannot be read ({type(exc).__name__})") from None
        if rejected:
            err.print(f"[red]rejected[/] {rejected}")
            raise typer.Exit(EXIT_REJECTED)
        for note in notes:
            err.print(f"[yellow]note[/] {file.name}: {note}")
        local = settings.model_copy(update={"data_dir": Path(tmp) / "data"})
        batch_id = f"{source}-{stream}-local-0"
        with err.status(f"validating {file.name} against {spec.id}"):
            outcome = run_validation(settings, spec, staged, batch_id=batch_id, into=local)
        rows = _failing_rows(local, spec, batch_id, headers)
    summary = Table("rule", "severity", "failed", "of", title=f"{file.name} against {spec.id} {spec.version}")
    for rule in outcome.rules:
        if rule.unexpected or rule.skipped:
            summary.add_row(
                rule.check.key, rule.check.severity, f"{rule.unexpected:,}", rule.skipped or f"{rule.checked:,}"
            )
    console.print(summary)
    if rows:
        listing = Table("line", "column", "value", "rule", "how to fix", title="failing rows")
        for row in rows[:show]:
            cells = (row["line"] or "-", row["column"], row["value"] or "", row["rule"], row["how to fix"])
            listing.add_row(*map(str, cells))
        console.print(listing)
        if len(rows) > show:
            console.print(f"... {len(rows) - show:,} more failing cells (all of them: --failures out.xlsx)")
    if failures is not None:
        with written(settings, failures) as staged:
            _write_failures(rows, staged)
        console.print(f"failing rows written to {failures}")
    console.print(
        f"rows {outcome.rows_in:,}: would land {outcome.rows_passed:,}, would be quarantined "
        f"{outcome.rows_quarantined:,}"
    )
    if outcome.drift:
        console.print(f"[yellow]schema drift[/]: {outcome.drift} (policy: {spec.schema_drift})")
    if outcome.held:
        err.print(f"[red]held[/] {outcome.held}")
        raise typer.Exit(EXIT_HELD)
    if outcome.rows_quarantined:
        raise typer.Exit(EXIT_FAILED)


contracts_app = typer.Typer(help="Data contracts: check them whole before they are used.", no_args_is_help=True)


@contracts_app.command("check")
def contracts_check(
    files: Annotated[list[Path] | None, typer.Argument(help="Contract files; default: every shipped contract.")] = None,
) -> None:
    """Check contracts whole: valid ODCS, known rules and regexes, SLA elements and references that exist.
    Every problem is one line (file:line: reason); exit 2 if there is any."""
    from contracts.checks import check_files
    from contracts.loader import contract_paths

    paths = files or contract_paths()
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"no such contract file: {missing[0]}")
    problems = check_files(paths)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    for problem in problems:
        err.print(f"[red]error:[/] {problem}")
    if problems:
        raise typer.Exit(EXIT_CONFIG)
    console.print(f"{len(paths)} contract(s) checked: no problem")


def report(
    out: Annotated[
        Path | None, typer.Option(help="Where to write the HTML (default: <data dir>/reports/quality.html).")
    ] = None,
) -> None:
    """Write the auditor's data-quality report: one self-contained HTML file."""
    from access.files import written
    from contracts.report import write_report

    if out is None:
        console.print(f"report written to {write_report(get_settings())}")
        return
    with written(get_settings(), out) as staged:
        write_report(get_settings(), staged)
    console.print(f"report written to {out}")

"""``xgate link`` (the lake linkage by hand) and ``xgate link file`` (collide an outside list)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from xgate.errors import ConfigError
from xgate.settings import get_settings

if TYPE_CHECKING:
    import pyarrow as pa

    from xgate.settings import Settings

app = typer.Typer(help="Link one person's records across departments (数据碰撞).", no_args_is_help=False)
console = Console()


@app.callback(invoke_without_command=True)
def link(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option("--full", help="Retrain the model and re-cluster every record.")] = False,
    threshold: Annotated[float, typer.Option(help="Match probability at which two records are one person.")] = 0.9,
) -> None:
    """Link the lake's person records (incremental once a model exists); writes shared.person_link."""
    if ctx.invoked_subcommand is not None:
        return
    from access.cli_admin import operate
    from linkage.lake import link_lake

    operate("link")
    from warehouse import lake
    from warehouse.model import publish

    _check_threshold(threshold)
    settings = get_settings()
    con = lake.connect(settings)
    try:
        run = link_lake(con, full=full, threshold=threshold)
        publish(con, settings.source_timezone, datasets=(), shared=True)  # the discrepancy lists join on the links
    finally:
        con.close()
    table = Table("run", "mode", "records", "linked", "candidate pairs", "pairs", "persons", "seconds")
    table.add_row(
        run.run_id,
        run.mode,
        f"{run.records:,}",
        f"{run.linked:,}",
        f"{run.candidate_pairs:,}",
        f"{run.pairs:,}",
        f"{run.persons:,}",
        f"{run.seconds:.1f}",
    )
    console.print(table)


def _check_threshold(value: float) -> None:
    if not 0 < value <= 1:
        raise ConfigError(f"--threshold must be in (0, 1], got {value}")


def _pairs(
    settings: Settings,
    listing: Path,
    mapping: dict[str, str],
    key: str | None,
    against: Path | None,
    against_map: str | None,
    threshold: float,
    case: str | None,
    purpose: str | None,
) -> pa.Table:
    """The candidate pairs of the list with a second list, or with the lake's people through the access layer."""
    from access.files import checked
    from linkage import files

    if against is not None:  # two of the caller's lists, no lake: still a proven person, and recorded
        from access.cli_admin import acting

        against = checked(settings, against)
        with acting("link files", f"link files {listing.name} {against.name}"):
            table = files.read_list(listing, mapping, key, "list")
            other = files.read_list(against, files.parse_map(against_map) if against_map else mapping, key, "against")
            try:
                pairs = files.link_files(table, other, threshold)
            except (ValueError, ZeroDivisionError):  # splink cannot estimate a model from a handful of rows
                raise ConfigError("these lists are too small to learn a model from; link against the lake") from None
    else:  # an investigator's read: bound to a case, recorded, through the access layer
        from access import lookups
        from access.cli import caller
        from access.reader import Reader

        user = caller("link file", f"link file {listing.name}", case, purpose)
        table = files.read_list(listing, mapping, key, "list")
        ids = {i for i in table.column("id_number").to_pylist() if i} if "id_number" in table.column_names else set()
        reader = Reader(settings)
        try:
            pairs = reader.collide(lookups.link_file(user, listing.name, ids, case, purpose), table)
        finally:
            reader.close()
    return pairs


@app.command("file")
def link_file(
    listing: Annotated[Path, typer.Argument(help="The list: CSV (UTF-8/GBK/GB18030), XLSX or Parquet.")],
    map_: Annotated[
        str,
        typer.Option(
            "--map",
            help="role=column,...; roles: "
            + ", ".join(
                (
                    "name",
                    "family_name",
                    "given_name",
                    "id_number",
                    "birth_date",
                    "sex",
                    "phone",
                    "address",
                    "address_code",
                    "postcode",
                    "other_id",
                )
            ),
        ),
    ],
    key: Annotated[str | None, typer.Option(help="Key column of each list (default: its first column).")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Least match probability of a pair written between two lists (default 0.5); against the lake a "
            "row matches on what it states exactly."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the pairs to this CSV (default: print them).")] = None,
    against: Annotated[Path | None, typer.Option(help="Link against this second list instead of the lake.")] = None,
    against_map: Annotated[str | None, typer.Option(help="--map of the second list (default: the same).")] = None,
    case: Annotated[str | None, typer.Option(help="Case number (against the lake).")] = None,
    purpose: Annotated[str | None, typer.Option(help="Purpose of the read (against the lake).")] = None,
) -> None:
    """Collide a person list with another list (--against) or with the lake's people.

    Writes one row per candidate pair: both keys, the match probability and the reason.
    """
    import pyarrow.csv as pacsv

    from access.files import checked, written
    from linkage import files

    settings = get_settings()
    if against is None and threshold is not None:
        raise ConfigError("--threshold is for two lists: against the lake a row matches on what it states exactly")
    threshold = threshold if threshold is not None else (0.5 if against is not None else 1.0)
    _check_threshold(threshold)
    listing = checked(settings, listing)  # a copy of the caller's own file, never one of xgate's stores
    mapping = files.parse_map(map_)
    with contextlib.ExitStack() as stack:  # --out is opened (and judged) before anything is read
        staged = stack.enter_context(written(settings, out)) if out is not None else None
        pairs = _pairs(settings, listing, mapping, key, against, against_map, threshold, case, purpose)
        if staged is not None:
            pacsv.write_csv(pairs, staged)
    if out is not None:
        exact = "matched exactly" if against is None else f"at or above {threshold}"
        console.print(f"{pairs.num_rows:,} pairs {exact} written to {out}")
        return
    shown = Table(*pairs.column_names)
    for row in pairs.to_pylist():
        shown.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(shown)

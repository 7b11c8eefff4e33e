"""Results as people and programs read them: a table, JSON or CSV (``--format``).

Only shown values get here: masking has been applied by :mod:`access.reader`. A lookup has several
sections (person, phones, rentals ...): JSON keys them by section; CSV of one section is a plain
table, of several it is long form (``section,row,column,value``) so any CSV reader takes it.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

Format = Literal["table", "json", "csv"]
UNSHOWN = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # C0, DEL, C1; bidi overrides, zero-width and other format characters


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(value: object, keep: str = "") -> str:
    """A value with every control or format character but those in ``keep`` escaped (``\\x1b``, ``\\u202e``)."""
    return "".join(_escaped(c) if unicodedata.category(c) in UNSHOWN and c not in keep else c for c in _text(value))


def safe(value: object) -> Text:
    """A value as a terminal may be shown it: every control or format character escaped (``\\x1b``, ``\\u202e``)
    and no markup read. What is shown was typed by someone (a query's comment, a purpose, a name typed to
    sign in, a cell of a source's data): raw, an escape sequence could hide or rewrite what the auditor sees,
    a bidi override reorder it, ``[...]`` restyle it."""
    return Text(visible(value))


def render(sections: dict[str, tuple[list[str], list[tuple]]], fmt: Format, console: Console) -> None:
    if fmt == "json":
        data = {name: [dict(zip(cols, row)) for row in rows] for name, (cols, rows) in sections.items()}
        console.out(json.dumps(data, ensure_ascii=False, indent=2, default=str), highlight=False)
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if len(sections) == 1:
            [(cols, rows)] = sections.values()
            writer.writerow(cols)
            writer.writerows([[_text(v) for v in row] for row in rows])
        else:
            writer.writerow(["section", "row", "column", "value"])
            for name, (cols, rows) in sections.items():
                for i, row in enumerate(rows, 1):
                    writer.writerows([name, i, c, _text(v)] for c, v in zip(cols, row))
        console.out(buffer.getvalue().rstrip("\n"), highlight=False)
        return
    for name, (cols, rows) in sections.items():
        table = Table(*cols, title=name if len(sections) > 1 else None, title_justify="left")
        for row in rows:
            table.add_row(*map(safe, row))  # [hidden] is not markup
        console.print(table if rows else f"{name}: no rows")

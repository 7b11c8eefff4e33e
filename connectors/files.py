"""File drops: every matching file in an inbox folder, decoded, checked whole, then read.

Encodings are detected strictly: UTF-8 (with or without BOM), then GBK, then GB18030; a file that is
none of them, lacks the declared header, or has a row of the wrong width is rejected **whole** to
``rejected/`` with a ``.reason.txt`` beside it, and nothing from it is staged. A good file stays in
the inbox until its batch has landed; then :func:`archive` moves it to ``archive/``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from openpyxl import load_workbook

from connectors.declarations import Source, Stream
from connectors.reader import Bounds, Chunk
from xgate.errors import SkippableError, SourceRefused
from xgate.settings import Connection, Settings

ENCODINGS = ("utf-8-sig", "gbk", "gb18030")


class FileReader:
    def __init__(self, source: Source, stream: Stream, connection: Connection, settings: Settings) -> None:
        self.stream = stream
        self.inbox = Path(connection.url)
        self.taken: dict[str, dict] = {}  # file -> encoding and sha256; archived when the batch lands
        self.rejected: dict[str, str] = {}

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        if not self.inbox.is_dir():
            raise SourceRefused(f"inbox folder {self.inbox} does not exist")
        files = sorted({p for pattern in self.stream.patterns for p in self.inbox.glob(pattern) if p.is_file()})
        for path in files:
            try:
                header, rows, encoding = _load(path)
                table = self._table(path.name, header, rows)
            except SkippableError as exc:
                self._reject(path, str(exc))
                continue
            self.taken[path.name] = {"encoding": encoding, "sha256": _digest(path)}
            kinds = dict.fromkeys(table.column_names, "string")
            yield Chunk(table, [f"file={path.name}#row={i + 2}" for i in range(table.num_rows)], kinds)

    def _table(self, name: str, header: list[str], rows: list[list[str]]) -> pa.Table:
        declared = self.stream.columns
        missing = [h for h in declared if h not in header]
        if missing:
            raise SkippableError(f"{name}: missing header column(s) {', '.join(missing)}; found {header[:20]}")
        for number, row in enumerate(rows, start=2):
            if len(row) != len(header):
                raise SkippableError(f"{name}: line {number} has {len(row)} fields, the header has {len(header)}")
        at = {h: i for i, h in enumerate(header)}
        columns = {column: pa.array([row[at[h]] for row in rows], pa.string()) for h, column in declared.items()}
        extra = [h for h in header if h not in declared]
        for h in extra:  # an undeclared column is kept and shows up as schema drift
            columns[h] = pa.array([row[at[h]] for row in rows], pa.string())
        return pa.table(columns)

    def _reject(self, path: Path, reason: str) -> None:
        target = _free_name(self.inbox.parent / "rejected", path.name)
        shutil.move(path, target)
        target.with_name(f"{target.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        self.rejected[path.name] = reason

    def close(self) -> None:
        pass


def _load(path: Path) -> tuple[list[str], list[list[str]], str]:
    if path.suffix.lower() == ".xlsx":
        return (*_xlsx(path), "xlsx")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SkippableError(f"{path.name}: UTF-16 text; expected UTF-8, GBK or GB18030")
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SkippableError(f"{path.name}: not valid UTF-8, GBK or GB18030 text")
    try:
        table = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    except csv.Error as exc:
        raise SkippableError(f"{path.name}: malformed CSV: {exc}") from None
    if not table:
        raise SkippableError(f"{path.name}: empty file, no header")
    return [h.strip() for h in table[0]], table[1:], encoding


def _xlsx(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SkippableError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        values = [["" if c is None else str(c) for c in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    values = [row for row in values if any(row)]
    if not values:
        raise SkippableError(f"{path.name}: empty workbook, no header")
    width = max(i for i, name in enumerate(values[0]) if name) + 1 if any(values[0]) else 0  # header's own width
    for number, row in enumerate(values[1:], start=2):
        if any(row[width:]):
            raise SkippableError(f"{path.name}: row {number} has values beyond the header's {width} columns")
    return [h.strip() for h in values[0][:width]], [row[:width] + [""] * (width - len(row)) for row in values[1:]]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<n>-name`` when a file of that name is already there: nothing is overwritten."""
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / name, 1
    while target.exists() or target.with_name(f"{target.name}.reason.txt").exists():
        target, n = folder / f"{n}-{name}", n + 1
    return target


def archive(inbox: Path, files: dict[str, dict], batch_id: str) -> None:
    """The batch holding these files has landed: move them out of the inbox.

    Only the exact bytes that were staged move: a file re-sent under the same name since stays in the
    inbox for the next run.
    """
    for name, seen in files.items():
        path = inbox / name
        if path.exists() and _digest(path) == seen["sha256"]:
            shutil.move(path, _free_name(inbox.parent / "archive", name))

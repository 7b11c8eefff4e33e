"""File drops: every matching file in an inbox folder, decoded, checked whole, then read.

Each file is its own batch (see :func:`connectors.runner.extract`), so one bad file holds only itself.
Encodings are detected strictly: UTF-8 (with or without BOM), then GBK, then GB18030; a GBK file with
UTF-8 text inside (a cell pasted from another system: it would land garbled, 寮犲紶) is rejected with
the line. Spreadsheets are taken as offices send them: a title row (or merged title cells) above the
declared header is skipped, a totals row (合计) is left out; XLSX and XLS are read with calamine. A file
that is none of the encodings, lacks the declared header, or has a row of the wrong width is rejected
**whole** to ``rejected/`` with a ``.reason.txt`` beside it, and nothing from it is staged. A good file
stays in the inbox until its batch has landed; then :func:`archive` moves it to ``archive/``.

Files the patterns miss only by letter case (``.CSV``) or by format (``.xls`` where ``.xlsx`` is
declared, ``.txt``) are reported as skipped on every run rather than ignored in silence; an ``.xls``
twin of a declared ``.xlsx`` pattern is read.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import re
import shutil
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa

from connectors.declarations import Source, Stream
from connectors.reader import Bounds, Chunk
from connectors.records import texts
from xgate.errors import SkippableError, SourceRefused
from xgate.settings import Connection, Settings

ENCODINGS = ("utf-8-sig", "gbk", "gb18030")
SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods")
HEADER_SEARCH = 10  # rows above the header a title may take
TOTALS = ("合计", "总计", "小计")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class Sheet:
    """A decoded file: its header, its rows with their line numbers in the file, and what was left out."""

    def __init__(self, header: list[str], rows: list[tuple[int, list[str]]], encoding: str, notes: list[str]) -> None:
        self.header, self.rows, self.encoding, self.notes = header, rows, encoding, notes


class FileReader:
    def __init__(
        self, source: Source, stream: Stream, connection: Connection, settings: Settings, only: str | None = None
    ) -> None:
        self.stream = stream
        self.inbox = Path(connection.url)
        self.only = only  # one file: its own batch
        self.taken: dict[str, dict] = {}  # file -> encoding and sha256; archived when the batch lands
        self.rejected: dict[str, str] = {}
        self.notes: dict[str, list[str]] = {}

    def listing(self) -> tuple[list[Path], dict[str, str]]:
        """The files the patterns take, and those they miss only by case or format (name -> why)."""
        if not self.inbox.is_dir():
            raise SourceRefused(f"inbox folder {self.inbox} does not exist")
        return take(self.inbox, self.stream.patterns)

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        files = [self.inbox / self.only] if self.only else self.listing()[0]
        for path in files:
            if not path.is_file():
                continue
            try:
                sheet = load(path, self.stream.columns)
                table = self._table(path.name, sheet)
            except SkippableError as exc:
                self._reject(path, str(exc))
                continue
            self.taken[path.name] = {"encoding": sheet.encoding, "sha256": _digest(path)}
            if sheet.notes:
                self.notes[path.name] = sheet.notes
            kinds = dict.fromkeys(table.column_names, "string")
            yield Chunk(table, [f"file={path.name}#row={number}" for number, _ in sheet.rows], kinds)

    def _table(self, name: str, sheet: Sheet) -> pa.Table:
        declared, header = self.stream.columns, sheet.header
        missing = [h for h in declared if h not in header]
        if missing:
            raise SkippableError(f"{name}: missing header column(s) {', '.join(missing)}; found {header[:20]}")
        for number, row in sheet.rows:
            if len(row) != len(header):
                raise SkippableError(f"{name}: line {number} has {len(row)} fields, the header has {len(header)}")
        at = {h: i for i, h in enumerate(header)}
        rows = [row for _, row in sheet.rows]
        columns = {column: texts([row[at[h]] for row in rows]) for h, column in declared.items()}
        extra = [h for h in header if h not in declared and h]
        for h in extra:  # an undeclared column is kept and shows up as schema drift
            columns[h] = texts([row[at[h]] for row in rows])
        return pa.table(columns)

    def _reject(self, path: Path, reason: str) -> None:
        target = _free_name(self.inbox.parent / "rejected", path.name)
        shutil.move(path, target)
        target.with_name(f"{target.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        self.rejected[path.name] = reason

    def close(self) -> None:
        pass


def take(inbox: Path, patterns: Iterable[str]) -> tuple[list[Path], dict[str, str]]:
    """Split the inbox's files into those the patterns take and those they miss only by case or format.

    An ``.xls`` file is taken where an ``.xlsx`` pattern matches its name with the ``x`` added: offices
    still save the old format, and calamine reads both.
    """
    patterns = tuple(patterns)
    taken, skipped = [], {}
    for path in sorted(p for p in inbox.iterdir() if p.is_file()):
        name = path.name
        xls_twin = path.suffix.lower() == ".xls" and any(fnmatch.fnmatchcase(name + "x", p) for p in patterns)
        if xls_twin or any(fnmatch.fnmatchcase(name, p) for p in patterns):
            taken.append(path)
        elif hit := next((p for p in patterns if fnmatch.fnmatch(name.lower(), p.lower())), None):
            skipped[name] = f"matches {hit} only ignoring letter case: rename it (or declare the pattern)"
        elif hit := next((p for p in patterns if fnmatch.fnmatchcase(path.stem, Path(p).stem)), None):
            skipped[name] = f"format {path.suffix or '(none)'} is not read: send it as {Path(hit).suffix} ({hit})"
    return taken, skipped


def load(path: Path, declared: Iterable[str] = ()) -> Sheet:
    """Decode a CSV or spreadsheet; find the declared header in its first rows; leave out a totals row."""
    if path.suffix.lower() in SPREADSHEETS:
        lines, encoding = _spreadsheet(path), path.suffix.lower().lstrip(".")
    else:
        lines, encoding = _text(path)
    lines = [(n, row) for n, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise SkippableError(f"{path.name}: empty file, no header")
    wanted = set(declared)
    at = 0
    for i, (_, row) in enumerate(lines[:HEADER_SEARCH]):
        if wanted and wanted <= {cell.strip() for cell in row}:
            at = i
            break
    notes = [f"{at} title row(s) above the header skipped"] if at else []
    header = [h.strip() for h in lines[at][1]]
    body = []
    for number, row in lines[at + 1 :]:
        first = next((cell.strip() for cell in row if cell.strip()), "")
        if first.startswith(TOTALS):
            notes.append(f"totals row (line {number}) left out")
            continue
        body.append((number, row))
    if encoding in ("xlsx", "xls", "xlsm", "ods"):  # a sheet's used range is as wide as its widest row
        width = max((i for i, name in enumerate(header) if name), default=-1) + 1
        for number, row in body:
            if any(cell.strip() for cell in row[width:]):
                raise SkippableError(f"{path.name}: row {number} has values beyond the header's {width} columns")
        header = header[:width]
        body = [(n, row[:width] + [""] * (width - len(row))) for n, row in body]
    return Sheet(header, body, encoding, notes)


def _text(path: Path) -> tuple[list[tuple[int, list[str]]], str]:
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
        raise SkippableError(f"{path.name}: {_undecodable(raw)}")
    if encoding != "utf-8-sig":
        _no_utf8_inside(path.name, raw)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        lines, start = [], 1
        for row in reader:
            lines.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SkippableError(f"{path.name}: malformed CSV: {exc}") from None
    return lines, encoding


def _undecodable(raw: bytes) -> str:
    """Why no encoding reads the file, with the first line at fault."""
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("gb18030")
        except UnicodeDecodeError:
            if any(_utf8_words(cell) for cell in line.split(b",")):
                return _MIXED.format(number)
            return f"line {number} is not valid UTF-8, GBK or GB18030 text"
    return "not valid UTF-8, GBK or GB18030 text"


_MIXED = "line {} mixes encodings: UTF-8 text inside a GBK file; save the whole file in one encoding (UTF-8 preferred)"


def _utf8_words(cell: bytes) -> bool:
    """Non-ASCII bytes that are valid UTF-8 holding a CJK ideograph."""
    if cell.isascii():
        return False
    try:
        return bool(_CJK.search(cell.decode("utf-8")))
    except UnicodeDecodeError:
        return False


def _no_utf8_inside(name: str, raw: bytes) -> None:
    """A GBK file whose cells are UTF-8 in places decodes without error into nonsense: find such a cell.

    A cell is UTF-8 in disguise when its bytes are valid UTF-8 holding a CJK ideograph (UTF-8 needs lead
    and continuation bytes that GBK text only rarely forms, and never for a whole Chinese word).
    """
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.isascii() and any(_utf8_words(cell) for cell in line.split(b",")):  # a comma: never a GBK byte
            raise SkippableError(f"{name}: {_MIXED.format(number)}")


def _spreadsheet(path: Path) -> list[tuple[int, list[str]]]:
    from python_calamine import CalamineError, load_workbook

    try:
        book = load_workbook(str(path))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError, IndexError) as exc:
        kind = path.suffix.lstrip(".").upper()
        raise SkippableError(f"{path.name}: not a readable {kind} workbook ({type(exc).__name__})") from None
    return [(number, [_cell(c) for c in row]) for number, row in enumerate(rows, start=1)]


def _cell(value: object) -> str:
    """A cell as the department typed it. An integral number prints whole; a number too long for a
    double (an ID number stored as a number) keeps Excel's scientific form, so the check names the loss."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).upper() if abs(value) >= 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.time() != time() else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


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

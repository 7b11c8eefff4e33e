"""Exports: what a read showed, as CSV or XLSX, stamped with who, which case, when and an export id.

An export is the read run again through :class:`access.reader.Reader` (so it is a read like any, masked
and recorded), written to a file whose first lines carry the stamp, and then one more audit record,
``export``, with the export id and the SHA-256 of the file's bytes: a file found later can be tied to
the person, case and moment it left the system, and shown to be unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from access import audit, lookups
from access.reader import Reader, Shown, named
from access.users import User
from xgate.settings import Settings

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Export:
    export_id: str
    filename: str
    content: bytes
    sha256: str
    stamp: dict[str, str]


def _csv(stamp: dict[str, str], shown: Shown) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for key, value in stamp.items():
        writer.writerow([f"# {key}", value])
    for section, (columns, rows) in shown.sections.items():
        writer.writerow([])
        writer.writerow([f"## {section}"])
        writer.writerow(columns)
        writer.writerows(["" if v is None else str(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read Chinese text as UTF-8


def _xlsx(stamp: dict[str, str], shown: Shown) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "stamp"
    for key, value in stamp.items():
        sheet.append([key, value])
    for section, (columns, rows) in shown.sections.items():
        page = book.create_sheet(section[:31])
        page.append(list(columns))
        for row in rows:
            page.append(["" if v is None else str(v) for v in row])
    book.properties.title = f"xgate export {stamp['export id']}"
    book.properties.creator = stamp["user"]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(settings: Settings, user: User, call: lookups.Call, fmt: str) -> Export:
    """Read ``call`` again and write what it shows as ``fmt``, stamped; the file's hash goes into the audit."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r}")
    reader = Reader(settings)
    try:
        shown = reader.read(call)
    finally:
        reader.close()
    export_id = secrets.token_hex(8)
    stamp = {"export id": export_id, "user": user.name, "role": user.role, "case": call.case or "-",
             "purpose": call.purpose or "-", "time": datetime.now(UTC).isoformat(timespec="seconds"),
             "read": call.command}  # fmt: skip
    content = _csv(stamp, shown) if fmt == "csv" else _xlsx(stamp, shown)
    digest = hashlib.sha256(content).hexdigest()
    subjects = sorted(audit.subject_hash(settings, i) for i in named(call.text) | call.named)
    audit.append(settings, {"user": user.name, "role": user.role, "case": call.case, "purpose": call.purpose,
                            "command": "export", "query": f"export {fmt}: {call.text}", "outcome": "allowed",
                            "export_id": export_id, "sha256": digest, "subjects": subjects,
                            "rows": sum(len(rows) for _, rows in shown.sections.values())})  # fmt: skip
    return Export(export_id, f"xgate-export-{export_id}.{fmt}", content, digest, stamp)

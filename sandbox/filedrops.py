"""Sub-district rental filings as the offices really send them: GBK CSV and XLSX spreadsheets.

One file per sub-district and drop. Headers are Chinese, every cell is text, and the bytes are
deterministic (fixed XLSX timestamps), so a seed reproduces the inbox exactly.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from openpyxl import Workbook

HEADERS = {
    "filing_no": "备案编号",
    "subdistrict": "街道",
    "landlord_type": "出租人类型",
    "landlord_id": "出租人证件号码",
    "landlord_name": "出租人名称",
    "tenant_id_number": "承租人身份证号",
    "tenant_name": "承租人姓名",
    "tenant_phone": "联系电话",
    "address_code": "地址编码",
    "address": "房屋地址",
    "start_date": "起租日期",
    "end_date": "止租日期",
    "filed_at": "登记时间",
}
DROP_MONTH = {0: "2026-10", 1: "2026-11"}
FIXED_TIME = datetime(2026, 11, 1)


def write_drops(filings: pa.Table, wave: int, folder: Path) -> list[Path]:
    """Write this wave's filings, one file per sub-district; every other office sends XLSX."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = filings.filter(pa.compute.equal(filings["_wave"], wave)).drop_columns(["_wave"]).to_pylist()
    offices = sorted({r["subdistrict"] for r in rows})
    written = []
    for i, office in enumerate(offices):
        body = [[_text(r[k]) for k in HEADERS] for r in rows if r["subdistrict"] == office]
        stem = f"租赁备案_{office}_{DROP_MONTH[wave]}"
        path = folder / (f"{stem}.xlsx" if i % 2 else f"{stem}.csv")
        path.write_bytes(_xlsx(body) if i % 2 else _gbk_csv(body))
        written.append(path)
    return written


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def _gbk_csv(body: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS.values())
    writer.writerows(body)
    return out.getvalue().encode("gbk")


def _xlsx(body: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "租赁备案"
    sheet.append(list(HEADERS.values()))
    for row in body:
        sheet.append(row)
    book.properties.created = book.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    book.save(raw)
    # openpyxl stamps zip entries with the wall clock; re-pack with a fixed time for identical bytes.
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _pin_times(data)
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 0, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return fixed.getvalue()


def _pin_times(core_xml: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", core_xml)

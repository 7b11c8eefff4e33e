"""Spreadsheet drops: GBK CSV and XLSX read right, each file its own batch; a bad file is rejected whole with
its reason and holds only itself."""

from __future__ import annotations

import shutil
from pathlib import Path

from connectors import extract
from connectors.staging import read_batch
from sandbox import store
from sandbox.filedrops import HEADERS


def inbox_of(settings) -> Path:
    return Path(settings.connections["housing_inbox"].url)


def staged_rows(settings, batches) -> list[dict]:
    return [row for b in batches for row in read_batch(settings, b.batch_id).to_pylist()]


def rejected_of(batches) -> dict[str, str]:
    return {name: why for b in batches for name, why in b.rejected_files.items()}


def test_gbk_csv_and_xlsx_read_exactly(extract_settings, sandbox_settings) -> None:
    batches = extract(extract_settings, "housing_filings")
    assert len(batches) == len(list(inbox_of(extract_settings).iterdir())) > 1  # one batch per file
    staged = {r["filing_no"]: r for r in staged_rows(extract_settings, batches)}
    truth = store.visible(sandbox_settings, "housing.rental_filings").to_pylist()
    assert len(staged) == len(truth)
    for row in truth:
        got = staged[row["filing_no"]]
        assert [got[c] for c in ("tenant_name", "address", "tenant_id_number", "start_date")] == [
            row[c] for c in ("tenant_name", "address", "tenant_id_number", "start_date")
        ]
    origins = {r["_origin"].split("#")[0] for r in staged.values()}
    assert any(o.endswith(".csv") for o in origins) and any(o.endswith(".xlsx") for o in origins)


def test_bad_files_are_rejected_whole_with_a_reason(extract_settings) -> None:
    inbox = inbox_of(extract_settings)
    good = sorted(inbox.glob("*.csv"))[0]
    header = ",".join(HEADERS.values())
    bad = {
        "租赁备案_utf16_2026-10.csv": (header + "\r\n").encode("utf-16"),
        "租赁备案_latin_2026-10.csv": good.read_bytes()[:200] + b"\x80\x81\xff\xfe" + b"abc",
        "租赁备案_noheader_2026-10.csv": "a,b,c\r\n1,2,3\r\n".encode("gbk"),
        "租赁备案_ragged_2026-10.csv": good.read_bytes() + "多,一行\r\n".encode("gbk"),
        "租赁备案_broken_2026-10.xlsx": b"PK\x03\x04 this is not a workbook",
    }
    for name, content in bad.items():
        (inbox / name).write_bytes(content)
    batches = extract(extract_settings, "housing_filings")
    assert set(rejected_of(batches)) == set(bad)
    assert all(len(b.rejected_files) <= 1 for b in batches)  # each file its own batch
    rejected = inbox.parent / "rejected"
    for name in bad:
        assert (rejected / name).exists() and not (inbox / name).exists()
        assert (rejected / f"{name}.reason.txt").read_text().strip()
    reasons = rejected_of(batches)
    assert "UTF-16" in reasons["租赁备案_utf16_2026-10.csv"]
    assert "missing header" in reasons["租赁备案_noheader_2026-10.csv"]
    assert "fields" in reasons["租赁备案_ragged_2026-10.csv"]
    assert "XLSX" in reasons["租赁备案_broken_2026-10.xlsx"]
    origins = {r["_origin"].split("#")[0] for r in staged_rows(extract_settings, batches)}
    assert not origins & {f"file={n}" for n in bad} and len(origins) == len(batches) - len(bad)


def test_utf8_with_bom_is_read(extract_settings) -> None:
    inbox = inbox_of(extract_settings)
    source = sorted(inbox.glob("*.csv"))[0]
    shutil.move(source, inbox / "keep.bak")
    (inbox / source.name).write_bytes(b"\xef\xbb\xbf" + (inbox / "keep.bak").read_bytes().decode("gbk").encode())
    batches = extract(extract_settings, "housing_filings")
    assert not rejected_of(batches)
    assert all(b.rows > 0 for b in batches)


def test_xlsx_row_wider_than_header_is_rejected(extract_settings) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(list(HEADERS.values()))
    book.active.append(["x"] * (len(HEADERS) + 1))
    book.save(inbox_of(extract_settings) / "租赁备案_wide_2026-10.xlsx")
    rejected = rejected_of(extract(extract_settings, "housing_filings"))
    assert "beyond the header" in rejected["租赁备案_wide_2026-10.xlsx"]


def test_file_drift_is_reported_and_resent_files_wait(extract_settings) -> None:
    from connectors import commit

    inbox = inbox_of(extract_settings)
    first = {b.path.split("/")[-1]: b for b in extract(extract_settings, "housing_filings")}
    name = sorted(p.name for p in inbox.glob("*.csv"))[0]
    (inbox / name).write_bytes((inbox / name).read_bytes() + b"")  # same bytes: archived on commit
    resent = sorted(p.name for p in inbox.glob("*.csv"))[1]
    (inbox / resent).write_bytes((inbox / resent).read_bytes().replace(b"\r\n", b"\r\n", 1) + b"\r\n")
    for batch in first.values():
        commit(extract_settings, batch.batch_id)
    assert not (inbox / name).exists()
    assert (inbox / resent).exists()  # changed since it was staged: stays for the next run
    text = (inbox / resent).read_bytes().decode("gbk").splitlines()
    wider = [text[0] + ",备注"] + [line + ",x" for line in text[1:] if line]
    (inbox / resent).write_bytes("\r\n".join(wider).encode("gbk"))
    [second] = extract(extract_settings, "housing_filings")
    assert second.schema_changes == {"added": ["备注"]}

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from sandbox import store
from sandbox.filedrops import HEADERS


def test_csv_drops_are_gbk_not_utf8(sandbox_settings) -> None:
    csvs = sorted(store.paths(sandbox_settings).inbox.glob("*.csv"))
    assert csvs
    raw = csvs[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").splitlines()[0].split(",") == list(HEADERS.values())


def test_xlsx_drops_have_the_same_columns(sandbox_settings) -> None:
    books = sorted(store.paths(sandbox_settings).inbox.glob("*.xlsx"))
    assert books
    header = next(load_workbook(books[0]).active.values)
    assert list(header) == list(HEADERS.values())

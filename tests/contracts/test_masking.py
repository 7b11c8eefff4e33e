"""Masking by classification: each kind of personal value keeps only what identifies nobody."""

from __future__ import annotations

import pytest

from contracts.checks import Field
from contracts.masking import HIDDEN, mask_record, mask_value


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("11010519900101002X", "110105********002X"),
        ("110105900101002", "110105******002"),  # a legacy ID keeps no more than its new twin shows
        ("13812341234", "138****1234"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("1986-02-09", "1986-**-**"),
        ("2023-05-01T10:00:00+08:00", "2023-**-** **:**"),
        ("四川省攀枝花市东区炳草岗街道1号", "四川省攀********街道1号"),
        ("", ""),
        (None, None),
    ],
)
def test_personal_values_are_partly_masked(value: object, shown: object) -> None:
    assert mask_value(value) == shown


def test_a_record_is_masked_field_by_field() -> None:
    fields = {
        "id_number": Field("id_number", "string", False, "personal", "conditional"),
        "deceased_at": Field("deceased_at", "timestamp", False, "sensitive", "conditional"),
        "carrier": Field("carrier", "string", False, "internal", "unconditional"),
        "pin": Field("pin", "string", False, "personal", "not-shared"),
    }
    record = {"id_number": "11010519900101002X", "deceased_at": "2026-01-01", "carrier": "中国电信", "pin": "1"}
    assert mask_record(record | {"unknown": "x"}, fields) == {
        "id_number": "110105********002X",
        "deceased_at": HIDDEN,
        "carrier": "中国电信",
        "unknown": HIDDEN,
    }


TWINS = [
    "11010519900101002X", "11010519900101002x", "110105900101002", "13812341234", "１３８１２３４１２３４",
    "１５２３４５６３９６３", "张三", "欧阳娜娜", "阿依古丽·买买提", "阿依古丽·买买提·艾力", "1986-02-09", "1986/2/9",
    "2025.11.12", "2026年5月17日", "2026年5月17日 10:00", "2023-05-01T10:00:00+08:00", "20260517",
    "四川省攀枝花市东区炳草岗街道1号", "abc", "a", "12345678", "123456789", "x\ny", "2023-05-01\n", "", None,
    "S000001234", "5104020010110091039062001",
]  # fmt: skip


@pytest.mark.parametrize("value", TWINS)
def test_the_sql_mask_is_the_python_mask(value: object) -> None:
    import duckdb

    from contracts.masking import MASK_MACRO

    con = duckdb.connect()
    con.execute(MASK_MACRO)
    assert con.execute("SELECT xg_mask($v)", {"v": value}).fetchone()[0] == mask_value(value)


def test_no_mask_keeps_more_than_it_should() -> None:
    assert mask_value("１５２３４５６３９６３") == "152****3963"  # full-width: still a phone
    assert mask_value("2026年5月17日") == "2026-**-**" and mask_value("2025/1/12") == "2025-**-**"
    assert mask_value("阿依古丽·买买提·艾力") == "阿" + "*" * 10  # a long name keeps one character

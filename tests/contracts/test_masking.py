"""Masking by classification: each kind of personal value keeps only what identifies nobody."""

from __future__ import annotations

import pytest

from contracts.checks import Field
from contracts.masking import HIDDEN, mask_record, mask_value


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("11010519900101002X", "110105********002X"),
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

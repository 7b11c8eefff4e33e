"""Cleaning made for Chinese data: pinyin homophones, code-point edits, IDs by parts, placeholders."""

from __future__ import annotations

import pyarrow as pa
import pytest
from stdnum.cn import ric

from linkage import engine, features


@pytest.fixture(scope="module")
def con():
    work = engine.workspace()
    yield work
    work.close()


def _features(con, rows: list[dict]) -> list[dict]:
    table = pa.table(
        {k: pa.array([r.get(k) for r in rows], pa.string()) for k in ("unique_id", "source_dataset", *features.ROLES)}
    )
    con.register("_t", table)
    features.build(con, "_t", "_f")
    con.unregister("_t")
    cur = con.execute("SELECT * FROM _f ORDER BY unique_id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_homophones_share_pinyin_and_one_character_is_one_edit(con) -> None:
    a, b, c = _features(
        con,
        [
            {"unique_id": "1", "name": "张伟"},
            {"unique_id": "2", "name": "张炜"},
            {"unique_id": "3", "name": " 张 晓明 "},
        ],
    )
    assert a["name_py"] == b["name_py"] == "zhangwei" and a["name_cp"] != b["name_cp"]
    assert c["name_cp"] == "张晓明" and c["surname_py"] == "zhang"
    assert con.execute("SELECT levenshtein('张晓明', '张小明')").fetchone()[0] == 3  # bytes, which is why
    assert con.execute(
        "SELECT xl_edit1('张晓明', '张小明'), xl_edit1('张晓明', '张明'), xl_edit1('张晓明', '李小明')"
    ).fetchone() == (True, True, False)


def test_ids_by_parts_legacy_fullwidth_and_placeholders(con) -> None:
    body = "51042119700817226"
    full = body + ric.calc_check_digit(body + "0")
    legacy = full[:6] + full[8:17]
    swapped = full[:10] + full[11] + full[10] + full[12:]
    rows = _features(
        con,
        [
            {"unique_id": "1", "id_number": full.translate(str.maketrans("0123456789", "０１２３４５６７８９"))},
            {"unique_id": "2", "id_number": legacy},
            {"unique_id": "3", "id_number": swapped},
            {"unique_id": "4", "id_number": "000000000000000000", "name": "未知"},
            {"unique_id": "5", "id_number": "111111111111111111", "name": "不详"},
            {"unique_id": "6", "id_number": "12345", "name": ""},
        ],
    )
    assert rows[0]["id18"] == rows[1]["id18"] == full
    assert rows[0]["birth_date"].isoformat() == "1970-08-17" and rows[0]["sex"] == "F"
    assert rows[2]["id_sorted"] == rows[0]["id_sorted"] and rows[2]["birth_date"] is None  # check fails: no date
    assert all(r["id18"] is None and r["name_cp"] is None for r in rows[3:])


def test_dates_phones_and_sex_in_the_formats_departments_use(con) -> None:
    rows = _features(
        con,
        [
            {"unique_id": str(i), "birth_date": d, "phone": p, "sex": s}
            for i, (d, p, s) in enumerate(
                [
                    ("2017-12-08", "+86 138 0013 8000", "男"),
                    ("20171208", "138-0013-8000", "male"),
                    ("2017/12/8", "１３８００１３８０００", "M"),
                    ("2017年12月8日", "+86-138-0013-8000", "1"),
                ]
            )
        ],
    )
    assert {str(r["birth_date"]) for r in rows} == {"2017-12-08"}
    assert {r["phone"] for r in rows} == {"13800138000"} and {r["sex"] for r in rows} == {"M"}

"""The DuckDB macros agree with python-stdnum, and the normalisers do what the contracts declare."""

from __future__ import annotations

import duckdb
import pytest
from stdnum.cn import ric, uscc

from contracts import sql
from sandbox import store


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    sql.install(connection.execute)
    return connection


def _corrupt(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def test_resident_id_macro_matches_stdnum(con, sandbox_settings) -> None:
    ids = [v for v in store.visible(sandbox_settings, "civil.residents")["id_number"].to_pylist() if len(v) == 18]
    ids += [_corrupt(v) for v in ids[:500]] + ["11010519491231002X", "110105194913310021", "000000199001011234", "12"]
    got = dict(con.execute("SELECT s, xg_ric_ok(s) FROM (SELECT unnest(?::VARCHAR[]) AS s)", [ids]).fetchall())
    assert {v: got[v] for v in ids} == {v: ric.is_valid(v) for v in ids}


def test_credit_code_macro_matches_stdnum(con, sandbox_settings) -> None:
    owners = store.visible(sandbox_settings, "housing.properties")
    codes = [o for o, t in zip(owners["owner_id"].to_pylist(), owners["owner_type"].to_pylist()) if t == "单位"]
    codes += [_corrupt(c) for c in codes[:100]]
    got = dict(con.execute("SELECT s, xg_uscc_ok(s) FROM (SELECT unnest(?::VARCHAR[]) AS s)", [codes]).fetchall())
    assert {c: got[c] for c in codes} == {c: uscc.is_valid(c) for c in codes}


@pytest.mark.parametrize(
    ("steps", "raw", "expected"),
    [
        (("fullwidth", "trim", "phone"), " +86 １３８-1234 5678 ", "13812345678"),
        (("phone",), "+86-138-1234-5678", "13812345678"),
        (("phone",), "138 1234 5678", "13812345678"),
        (("date",), "2017年12月8日", "2017-12-08"),
        (("date",), "2017/12/8", "2017-12-08"),
        (("date",), "20171208", "2017-12-08"),
        (("date",), "2017-12-08", "2017-12-08"),
        (("date",), "someday", "someday"),
        (("fullwidth", "upper", "legacy_id"), "５１０４０２６６０７１６６３１", "510402196607166317"),
        (("legacy_id",), "11010519491231002x", "11010519491231002x"),
    ],
)
def test_normalisers(con, steps, raw, expected) -> None:
    expression = sql.normalised("v", steps)
    assert con.execute(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS v)", [raw]).fetchone()[0] == expected


def test_area_code_years_match_stdnum_at_every_boundary(con) -> None:
    """Every county code, at the first and last year it was in force and the years either side, judged as
    python-stdnum judges the ID."""
    from contracts.areas import area_codes

    def resident(code: str, year: int) -> str:
        body = f"{code}{year}0101001"
        return body + ric.calc_check_digit(body + "0")

    ids = [resident("999999", 1990)]
    for area in area_codes():
        for year in {area.first_year, area.last_year, 1801, 2000, 2099} - {None}:
            ids += [resident(area.code, year + step) for step in (-1, 0, 1)]
    got = dict(con.execute("SELECT s, xg_ric_ok(s) FROM (SELECT unnest(?::VARCHAR[]) AS s)", [ids]).fetchall())
    assert [v for v in ids if got[v] != ric.is_valid(v)] == []

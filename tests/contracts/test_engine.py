"""Which of GX's failing-row queries become row predicates, which run whole, and how the compiled form is kept."""

from __future__ import annotations

import pytest

from contracts.gx_compile import _ignored_rows, _row_predicate


def test_a_query_over_the_rows_alone_becomes_its_predicate() -> None:
    query = "SELECT _row, id_number FROM prepared WHERE id_number IS NOT NULL AND NOT xg_ric_ok(id_number)"
    assert _row_predicate(query) == "NOT id_number IS NULL AND NOT XG_RIC_OK(id_number)"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT s._row FROM (SELECT * FROM prepared) AS s JOIN (SELECT k FROM prepared GROUP BY k) AS d ON s.k = d.k",
        "SELECT _row FROM prepared AS p WHERE p.x IS NULL",
        "SELECT _row FROM other.prepared WHERE x IS NULL",
        "SELECT _row FROM prepared WHERE x IS NULL QUALIFY row_number() OVER () = 1",
        "WITH t AS (SELECT 1) SELECT _row FROM prepared WHERE x IS NULL",
        "SELECT _row FROM prepared WHERE x IS NULL LIMIT 20",
        "SELECT _row FROM prepared",
        "SELECT _row FROM prepared WHERE (",
    ],
)
def test_any_other_shape_runs_whole(query: str) -> None:
    assert _row_predicate(query) == ""


def test_rows_gx_skips_when_it_counts_are_skipped_here_too() -> None:
    pair = {"column_A": "sex", "column_B": "__id_sex__sex", "ignore_row_if": "either_value_is_missing"}
    assert _ignored_rows(pair) == '"sex" IS NOT NULL AND "__id_sex__sex" IS NOT NULL'
    assert _ignored_rows({"column": "sex"}) == ""


def test_compiled_checks_are_kept_on_disk_and_a_torn_copy_is_compiled_again(tmp_path, monkeypatch) -> None:
    from contracts import engine, gx_compile
    from contracts.checks import contracts

    contract = contracts()["telecom.subscribers"]
    schema = [(field, "VARCHAR") for field in contract.fields] + [("_row", "BIGINT")]
    compiled = engine.compile_checks(contract, schema, tmp_path)
    [kept] = list(tmp_path.glob("*.json"))
    assert kept.stat().st_mode & 0o077 == 0
    engine._compiled.clear()

    def refuse(*_):
        raise AssertionError("compiled again")

    with monkeypatch.context() as patch:
        patch.setattr(gx_compile, "compile_with_gx", refuse)
        assert engine.compile_checks(contract, schema, tmp_path) == compiled  # from disk, GX untouched
    engine._compiled.clear()
    kept.write_text('[{"key": ')
    assert engine.compile_checks(contract, schema, tmp_path) == compiled
    engine._compiled.clear()

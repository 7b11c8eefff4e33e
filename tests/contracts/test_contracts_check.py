"""Bad contracts (tests/fixtures/contracts) are refused in one line with file, line and reason, the same by
``xgate contracts check``, ``xgate validate`` and ``xgate sync``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from contracts import loader
from contracts.checks import contracts
from tests.conftest import run_xgate
from xgate.errors import EXIT_CONFIG

FIXTURES = Path(__file__).parents[1] / "fixtures"
BAD = {
    "bad_regex": "field 'address_code': invalid regex '^[0-9{25}$'",
    "unknown_dataset": "references unknown dataset 'civil.nobody'",
    "unknown_column": "references civil.residents.id_numbr, which is not a field of civil.residents",
    "sla_element": "SLA element 'housing.rental_filings.filed_on' is not a field",
    "sql_rule": "schema-level quality rule (type 'sql') is not run by xgate",
    "unknown_check": "unknown check 'telepathy'",
}


def test_the_shipped_contracts_pass_the_check() -> None:
    code, out, err = run_xgate({}, "contracts", "check")
    assert code == 0 and "no problem" in out, err


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_validate_and_sync_refuse_a_bad_contract_alike(case: str, tmp_path: Path, monkeypatch) -> None:
    bad = FIXTURES / "contracts" / f"{case}.yaml"
    code, _, err = run_xgate({}, "contracts", "check", str(bad))
    [line] = err.splitlines()
    assert code == EXIT_CONFIG and line.startswith(f"error: {bad}:") and BAD[case] in line
    where = line.split(f"{bad.name}:", 1)[1]  # line number and reason

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "drops" / "租赁备案_title_totals.xlsx", inbox)
    code, _, err = run_xgate({}, "validate", str(bad), str(inbox / "租赁备案_title_totals.xlsx"))
    assert code == EXIT_CONFIG and err.splitlines() == [f"error: {bad.resolve()}:{where}"]

    folder = tmp_path / "contracts"
    shutil.copytree(loader.CONTRACTS_DIR, folder)
    shutil.copy(bad, folder / "housing.rental_filings.yaml")
    monkeypatch.setattr(loader, "CONTRACTS_DIR", folder)
    contracts.cache_clear()
    try:
        env = {"XGATE_DATA_DIR": str(tmp_path / "xgate"), "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox)}
        code, _, err = run_xgate(env, "sync", "housing_filings")
    finally:
        contracts.cache_clear()
    assert code == EXIT_CONFIG and err.splitlines() == [f"error: {folder / 'housing.rental_filings.yaml'}:{where}"]

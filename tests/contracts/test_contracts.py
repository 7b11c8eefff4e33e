"""Contracts load through the ODCS package; bad ones are refused with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import contracts
from contracts.checks import CHECKS, compile_contract
from contracts.loader import ContractError
from sandbox.departments import DATASETS

GOOD = (Path(__file__).parents[2] / "contracts" / "datasets" / "civil.deaths.yaml").read_text(encoding="utf-8")


def test_every_sandbox_dataset_has_a_contract() -> None:
    assert set(contracts()) == set(DATASETS)
    for contract in contracts().values():
        assert all(check.name in CHECKS for check in contract.checks)
        assert all(
            f.classification in ("public", "internal", "personal", "sensitive") for f in contract.fields.values()
        )
        assert all(f.sharing in ("unconditional", "conditional", "not-shared") for f in contract.fields.values())
        assert contract.version and contract.freshness and contract.primary_key in contract.fields


def test_check_keys_name_dataset_field_and_check() -> None:
    keys = [c.key for c in contracts()["civil.residents"].checks]
    assert "civil.residents__id_number__resident_id" in keys
    assert "civil.residents__birth_date__id_birth_date" in keys
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (("apiVersion: v3.1.0", "apiVersion: 3"), 1, "not valid ODCS"),
        (("version: 1.1.0", "version: [1, 0]"), 5, "not valid ODCS"),
        (("implementation: resident_id", "implementation: telepathy"), 20, "unknown check 'telepathy'"),
        (("value: [fullwidth, trim, upper, legacy_id]", "value: [fullwidth, rot13]"), 14, "unknown normaliser"),
        (("primaryKey: true, ", ""), 9, "no field is marked primaryKey"),
        (("logicalType: date, required: true", "logicalType: datum, required: true"), 22, "'datum' is not one of"),
        (
            (
                "type: custom, engine: xgate, implementation: resident_id",
                "metric: nullValues, mustBe: 0, mustBeLessThan: 1",
            ),
            20,
            "not valid ODCS",
        ),
        (
            (
                "type: custom, engine: xgate, implementation: resident_id",
                "metric: nullValues, mustBe: 0, unit: parsecs",
            ),
            20,
            "threshold unit must be rows or percent",
        ),
    ],
)
def test_bad_contract_is_refused_with_line(tmp_path: Path, change, line, reason) -> None:
    assert change[0] in GOOD
    path = tmp_path / "civil.deaths.yaml"
    path.write_text(GOOD.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        compile_contract(path)
    assert caught.value.path == path and reason in caught.value.reason
    assert caught.value.line == line, str(caught.value)

"""Fixtures for the access tests: the session's shared lake, with an audit and grants of each test's own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from access import plan, policy
from access.users import User
from warehouse import lake
from xgate.settings import Settings

INVESTIGATOR = User(name="investigator", role="investigator")


@pytest.fixture
def access_settings(landed: tuple[Settings, dict], tmp_path: Path) -> Settings:
    """The shared lake (read only), with this test's own audit log and grants."""
    return landed[0].model_copy(update={"audit_dir": tmp_path / "audit", "access_dir": tmp_path / "access"})


@pytest.fixture(scope="session")
def facts(landed: tuple[Settings, dict]) -> dict:
    """Real values from the lake, read directly, to check that none of them leaks where it must not."""
    con = lake.connect(landed[0], read_only=True)
    try:
        dead_id, msisdn, deceased = con.execute(
            "SELECT id_number, msisdn, CAST(deceased_at AS VARCHAR) FROM shared.dead_with_active_phone "
            "ORDER BY id_number LIMIT 1"
        ).fetchone()
        address, tenant = con.execute(
            "SELECT address_code, tenant_id_number FROM shared.rental ORDER BY rental_key LIMIT 1"
        ).fetchone()
        deaths = {
            r[0]
            for r in con.execute("SELECT CAST(deceased_at AS VARCHAR) FROM shared.dead_with_active_phone").fetchall()
        }
        carriers = {r[0] for r in con.execute("SELECT DISTINCT carrier FROM shared.phone").fetchall()}
    finally:
        con.close()
    return {"dead_id": dead_id, "msisdn": msisdn, "deceased": deceased, "address": address, "tenant": tenant,
            "deaths": deaths, "carriers": carriers}  # fmt: skip


@pytest.fixture
def carrier_not_shared(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No shipped contract has a not-shared field in a shared view: make telecom's carrier one."""
    real = policy.fields()
    patched = dict(real)
    key = ("telecom.subscribers", "carrier")
    patched[key] = dataclasses.replace(real[key], sharing="not-shared")
    monkeypatch.setattr(policy, "fields", lambda: patched)
    policy.shared_schema.cache_clear()
    plan.shared_plan.cache_clear()
    yield
    monkeypatch.undo()
    policy.shared_schema.cache_clear()
    plan.shared_plan.cache_clear()

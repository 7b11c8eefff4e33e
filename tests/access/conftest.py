"""Fixtures for the access tests: the session's shared lake, with users, cases, grants and an audit of each
test's own."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from access import grants, identity, lookups, plan, policy
from access.reader import Reader, Shown
from access.users import User
from warehouse import lake
from xgate.settings import Settings

INVESTIGATOR = User(name="investigator", role="investigator")
COLLEAGUE = User(name="colleague", role="investigator")
OUTSIDER = User(name="outsider", role="investigator")
ADMIN = User(name="admin", role="admin")
SUPERVISOR = User(name="supervisor", role="admin")
AUDITOR = User(name="auditor", role="auditor")
ENGINEER = User(name="engineer", role="engineer")
PASSWORD = "correct horse battery staple"
CASE = "C-1"
_HASH = identity.hash_password(PASSWORD)


def listed(settings: Settings, user: str, table: pa.Table) -> None:
    """A list through the guessing guard as ``xgate link file`` counts it: read as the linker reads it."""
    from access.reader import _not_an_enumeration
    from linkage import files

    keys = pa.array([f"r{i}" for i in range(table.num_rows)], pa.string())
    table = table.append_column("unique_id", keys).append_column("source_dataset", pa.array(["list"] * len(keys)))
    _not_an_enumeration(settings, user, files.list_features(table))


def write_users(folder: Path) -> Path:
    """A users file with every test user, all with the same password."""
    people = (INVESTIGATOR, COLLEAGUE, OUTSIDER, ADMIN, SUPERVISOR, AUDITOR, ENGINEER)
    path = folder / "users.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    entries = [{"name": u.name, "role": u.role, "password_hash": _HASH} for u in people]
    path.write_text(yaml.safe_dump({"users": entries}), encoding="utf-8")
    return path


@pytest.fixture
def access_settings(landed: tuple[Settings, dict], tmp_path: Path) -> Settings:
    """The shared lake (read only), with this test's own users, ledger, key and audit; case C-1 is open
    with the investigator and a colleague on it."""
    settings = landed[0].model_copy(
        update={
            "audit_dir": tmp_path / "audit",
            "access_dir": tmp_path / "access",
            "users_file": write_users(tmp_path / "people"),
        }
    )
    grants.open_case(settings, INVESTIGATOR, CASE, "missing person")
    grants.add_member(settings, INVESTIGATOR, CASE, COLLEAGUE.name)
    return settings


@pytest.fixture
def read(access_settings: Settings) -> Callable[[lookups.Call], Shown]:
    def run(call: lookups.Call, as_of: int | None = None) -> Shown:
        reader = Reader(access_settings, as_of)
        try:
            return reader.read(call)
        finally:
            reader.close()

    return run


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
        name, subscriber = con.execute(
            "SELECT name, subscriber_id FROM shared.phone WHERE msisdn = ?", [msisdn]
        ).fetchone()
        phones = {r[0] for r in con.execute("SELECT msisdn FROM shared.phone").fetchall()}
        ids = {r[0] for r in con.execute("SELECT id_number FROM shared.person").fetchall()}
    finally:
        con.close()
    return {"dead_id": dead_id, "msisdn": msisdn, "deceased": deceased, "address": address, "tenant": tenant,
            "deaths": deaths, "carriers": carriers, "name": name, "phones": phones, "ids": ids,
            "subscriber": subscriber}  # fmt: skip


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


@pytest.fixture(scope="session")
def named_person(landed: tuple[Settings, dict]) -> dict[str, str]:
    """A registered resident with a phone and a rental whose name and birth date no one else shares (read
    directly, to choose whom the search tests look for): id_number, name, birth_date."""
    con = lake.connect(landed[0], read_only=True)
    try:
        found = con.execute(
            """SELECT r.id_number, r.name, r.birth_date FROM raw.civil_residents r
               JOIN shared.phone f ON f.id_number = r.id_number JOIN shared.rental t ON t.tenant_id_number = r.id_number
               WHERE length(r.id_number) = 18 AND (SELECT count(DISTINCT o.id_number) FROM raw.civil_residents o
                 WHERE o.name = r.name AND o.birth_date = r.birth_date) = 1
               ORDER BY r.id_number LIMIT 1"""
        ).fetchone()
    finally:
        con.close()
    return dict(zip(("id_number", "name", "birth_date"), found))

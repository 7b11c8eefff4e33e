"""One settings object: paths follow the data directory; connections come from the environment or the profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from xgate.settings import PROFILE, Settings, get_settings, reset_settings


def test_derived_paths_follow_a_copied_data_dir(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "a")
    assert first.warehouse_dir == tmp_path / "a" / "warehouse"  # read once, as a long-lived process does
    copy = first.model_copy(update={"data_dir": tmp_path / "b"})
    assert (copy.warehouse_dir, copy.staging_dir) == (tmp_path / "b" / "warehouse", tmp_path / "b" / "staging")
    assert copy.lake_catalog == f"ducklake:{(tmp_path / 'b' / 'warehouse' / 'catalog.ducklake').resolve()}"


def test_the_connection_profile_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / PROFILE).write_text(
        "XGATE_CONNECTIONS__A__URL=http://a.example\nXGATE_CONNECTIONS__A__TOKEN=from-profile\n"
        "XGATE_CONNECTIONS__B__URL=sqlite:///profile.db\n"
    )
    monkeypatch.setenv("XGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XGATE_CONNECTIONS__B__URL", "sqlite:///environment.db")
    reset_settings()
    connections = get_settings().connections
    assert connections["a"].token.get_secret_value() == "from-profile"
    assert connections["b"].url == "sqlite:///environment.db"


def test_the_core_loads_no_sandbox_library() -> None:
    """The gateway runs without the [sandbox] extra: none of its modules pulls in Faker, FastAPI or uvicorn."""
    probe = (
        "import sys, xgate.cli, connectors.runner, connectors.rest, connectors.fhir, contracts.validate; "
        "import warehouse.sync; "
        "print([m for m in ('faker', 'fastapi', 'uvicorn', 'sandbox.store', 'sandbox.servers') if m in sys.modules])"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip().splitlines()[-1] == "[]"

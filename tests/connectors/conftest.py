"""Connector fixtures: the session sandbox's servers, its databases on the real PostgreSQL and MariaDB,
and a fresh data directory (state, staging, inbox copy) per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from sandbox import dbload, store
from sandbox.servers import process
from xgate.settings import Connection, Settings


@pytest.fixture(scope="session")
def source_databases(sandbox_settings: Settings) -> dict[str, str]:
    """Civil affairs on PostgreSQL, housing on MariaDB, as of wave 0."""
    dbload.load(sandbox_settings, "postgres", ("civil",))
    dbload.load(sandbox_settings, "mysql", ("housing",))
    return {
        d: dbload.database_url(sandbox_settings, t, d).render_as_string(hide_password=False)
        for d, t in (("civil", "postgres"), ("housing", "mysql"))
    }


def connections_for(sandbox: Settings, inbox: Path, databases: dict[str, str]) -> dict[str, Connection]:
    urls = process.urls(sandbox)
    token = SecretStr(store.ensure_token(sandbox))
    return {
        "telecom": Connection(url=urls["telecom"], token=token),
        "health": Connection(url=urls["health"], token=token),
        "civil": Connection(url=databases["civil"]),
        "housing": Connection(url=databases["housing"]),
        "housing_inbox": Connection(url=str(inbox)),
    }


@pytest.fixture
def extract_settings(sandbox_settings: Settings, source_databases: dict[str, str], tmp_path: Path) -> Settings:
    """A fresh xgate data directory pulling from the session sandbox (wave 0); the inbox is a copy."""
    inbox = tmp_path / "drops" / "inbox"
    shutil.copytree(store.paths(sandbox_settings).inbox, inbox)
    return Settings(
        data_dir=tmp_path / "xgate",
        http_backoff=0.01,
        http_retries=4,
        http_timeout=5,
        connections=connections_for(sandbox_settings, inbox, source_databases),
    )

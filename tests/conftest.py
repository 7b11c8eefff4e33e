"""Shared fixtures: one generated sandbox and its running servers for the whole session.

Generation and server start-up are paid once; tests that change the sandbox (advance a wave) work on
their own copy. Databases on the real PostgreSQL and MariaDB get a name unique to the run and are
dropped at the end. xgate finds the sandbox the way a user's xgate does: through the connection profile
the sandbox writes (``connections_for``).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import shutil
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sandbox import dbload, store, waves
from sandbox.manifest import read_manifest
from sandbox.servers import apis, process
from sandbox.settings import SandboxSettings
from xgate.settings import PROFILE, Connection, ObjectStore, Settings, load_settings, reset_settings

SANDBOX_PEOPLE = 3000
SANDBOX_SEED = 7
SOURCES = ("civil", "housing", "housing_filings", "telecom", "health")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(data_dir: Path, **overrides: object) -> SandboxSettings:
    """A sandbox in ``data_dir`` whose APIs take free ports."""
    ports = {name: free_port() for name in apis()}
    return SandboxSettings(data_dir=data_dir, ports=ports, rate_limit=1000.0, **overrides)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def sandbox_settings(tmp_path_factory: pytest.TempPathFactory, run_id: str) -> Iterator[SandboxSettings]:
    """A generated sandbox (wave 0) with its servers running; do not advance it."""
    settings = make_settings(
        tmp_path_factory.mktemp("xgate"),
        pg_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/xgtest_{run_id}",
        mysql_url=f"mysql+pymysql://root@127.0.0.1:3306/xgtest_{run_id}",
    )
    store.generate(settings, SANDBOX_PEOPLE, SANDBOX_SEED)
    process.serve(settings)
    yield settings
    process.stop(settings)
    _drop_databases(settings)


@pytest.fixture
def own_sandbox(sandbox_settings: SandboxSettings, tmp_path: Path) -> Iterator[SandboxSettings]:
    """A private copy of the session sandbox (servers not started), free to advance or break."""
    shutil.copytree(store.paths(sandbox_settings).root, tmp_path / "sandbox", ignore=shutil.ignore_patterns("run"))
    own = uuid.uuid4().hex[:6]
    settings = make_settings(
        tmp_path, pg_url=f"{sandbox_settings.pg_url}_{own}", mysql_url=f"{sandbox_settings.mysql_url}_{own}"
    )
    yield settings
    process.stop(settings)
    _drop_databases(settings)


@pytest.fixture(scope="session")
def source_databases(sandbox_settings: SandboxSettings) -> dict[str, str]:
    """Civil affairs on PostgreSQL, housing on MariaDB, as of wave 0."""
    dbload.load(sandbox_settings, "postgres", ("civil",))
    dbload.load(sandbox_settings, "mysql", ("housing",))
    return {
        d: dbload.database_url(sandbox_settings, t, d).render_as_string(hide_password=False)
        for d, t in (("civil", "postgres"), ("housing", "mysql"))
    }


def connections_for(sandbox: SandboxSettings, inbox: Path, databases: dict[str, str]) -> dict[str, Connection]:
    """The connections of the profile ``xgate sandbox serve`` wrote, as xgate loads it; with this test's
    copy of the inbox and its department databases."""
    profile = load_settings(data_dir=sandbox.data_dir / "unused", profile=sandbox.data_dir / PROFILE)
    return profile.connections | {
        "civil": Connection(url=databases["civil"]),
        "housing": Connection(url=databases["housing"]),
        "housing_inbox": Connection(url=str(inbox)),
    }


@pytest.fixture
def extract_settings(sandbox_settings: SandboxSettings, source_databases: dict[str, str], tmp_path: Path) -> Settings:
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


@pytest.fixture(scope="session")
def landed(
    sandbox_settings: SandboxSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, dict]]:
    """A populated lake, built once per session and shared (read it, do not write it): every source synced
    at wave 0, the sandbox advanced, every source synced again, and the person records linked (so the
    discrepancy views are published); with the sandbox's manifest."""
    from warehouse.sync import sync

    root = tmp_path_factory.mktemp("landed")
    shutil.copytree(store.paths(sandbox_settings).root, root / "sandbox", ignore=shutil.ignore_patterns("run"))
    sandbox = make_settings(root)
    process.serve(sandbox)
    try:
        waves.load_databases(sandbox, "sqlite", ("civil", "housing"))
        databases = {d: dbload.database_url(sandbox, "sqlite", d).render_as_string() for d in ("civil", "housing")}
        xgate = Settings(
            data_dir=root / "xgate", connections=connections_for(sandbox, store.paths(sandbox).inbox, databases)
        )
        for source in SOURCES:
            sync(xgate, source)
        waves.advance(sandbox)
        for source in SOURCES:
            sync(xgate, source)
        from linkage.lake import link_lake
        from warehouse import lake
        from warehouse.sync import publish_views

        con = lake.connect(xgate)
        try:
            link_lake(con)
        finally:
            con.close()
        publish_views(xgate)
        yield xgate, read_manifest(store.paths(sandbox).manifest)
    finally:
        process.stop(sandbox)


@dataclass
class S3Server:
    """moto's S3 on 127.0.0.1 with authentication on: only the key pair of its one user is accepted."""

    endpoint: str
    bucket: str
    key_id: str
    secret: str

    def store(self, **overrides: object) -> ObjectStore:
        return ObjectStore(endpoint=self.endpoint, key_id=self.key_id, secret=self.secret, **overrides)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's server, started once: a user with a key pair and a bucket are made, then every request must be
    signed by that key pair (``/moto-api/reset-auth``), so wrong credentials are refused as a real store would."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    setup = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    setup |= {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="xgate")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="xgate", PolicyName="lake", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="xgate")["AccessKey"]
    boto3.client("s3", **setup).create_bucket(Bucket="xgate-lake")
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield S3Server(endpoint, "xgate-lake", key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        server.stop()


_lakes = itertools.count()


@contextlib.contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server for the block, dropped after it: its name."""
    import psycopg

    def drop(con) -> None:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        drop(con)
        con.execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
            drop(con)


@pytest.fixture
def lake_database(run_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one DuckLake catalog (dropped after the test): its catalog URL."""
    with fresh_database(f"xgtest_{run_id}_lake{next(_lakes)}") as name:
        yield f"ducklake:postgres:dbname={name} host=127.0.0.1 user=postgres"


def production_lake(settings: Settings, s3: S3Server, catalog: str) -> Settings:
    """``settings`` with the production lake: the catalog on PostgreSQL, the data files in the bucket under a
    prefix of their own."""
    return settings.model_copy(
        update={
            "catalog_url": catalog,
            "lake_data_path": f"s3://{s3.bucket}/{uuid.uuid4().hex[:8]}/",
            "s3": s3.store(),
        }
    )


@pytest.fixture
def token(sandbox_settings: SandboxSettings) -> str:
    return store.ensure_token(sandbox_settings)


@pytest.fixture
def faults(sandbox_settings: SandboxSettings, token: str) -> Iterator[Callable[..., None]]:
    """Switch faults on a session sandbox API ("telecom", "health" ...); reset after the test."""
    touched: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}

    def switch(server: str, **plan: object) -> None:
        api = apis()[server]
        base = api.url(sandbox_settings).removesuffix(api.root)
        requests.post(f"{base}/_sandbox/faults", json=plan, headers=headers, timeout=5).raise_for_status()
        touched.append(base)

    yield switch
    for base in touched:
        requests.post(f"{base}/_sandbox/faults", json={"rate_limit": 1000}, headers=headers, timeout=5)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees another's XGATE_* environment, cached settings or sign-in token (an ``xgate login`` run on
    this machine leaves one in ~/.config/xgate)."""
    for name in list(os.environ):
        if name.startswith("XGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XGATE_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reset_settings()
    yield
    reset_settings()


def run_xgate(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """``xgate ...`` in this process through the real entry point, with ``env`` set: (exit code, stdout, stderr)."""
    from xgate.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("COLUMNS", "250")
        patch.setattr(sys, "argv", ["xgate", *args])
        reset_settings()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as ended:
            main()
        reset_settings()
    return ended.value.code, out.getvalue(), err.getvalue()


def _drop_databases(settings: SandboxSettings) -> None:
    dbload.drop(settings, "postgres")
    dbload.drop(settings, "mysql")

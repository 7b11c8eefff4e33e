"""The production lake: catalog on PostgreSQL, data files in a bucket on S3-compatible storage (moto)."""

from __future__ import annotations

import boto3
import pytest
from pydantic import SecretStr

from connectors.state import StateStore
from sandbox import store
from tests.conftest import production_lake
from warehouse import lake
from warehouse.sync import sync
from xgate.errors import ConfigError, SourceRefused, SourceUnavailable
from xgate.settings import Settings


@pytest.fixture
def prod(extract_settings: Settings, s3_server, lake_database) -> Settings:
    return production_lake(extract_settings, s3_server, lake_database)


def count(settings: Settings, sql: str) -> int:
    con = lake.connect(settings, read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def objects(s3_server, settings: Settings) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=s3_server.key_id,
        aws_secret_access_key=s3_server.secret,
    )
    prefix = settings.lake_data.removeprefix(f"s3://{s3_server.bucket}/")
    listing = client.list_objects_v2(Bucket=s3_server.bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def assert_nothing_landed(settings: Settings) -> None:
    """The catalog holds no batch, the checkpoint is unmoved and the batch is still staged."""
    con = lake.connect(settings.model_copy(update={"lake_data_path": None, "s3": None}), read_only=True)
    try:
        tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'lake'").fetchone()
    finally:
        con.close()
    assert tables == (0,)
    assert StateStore(settings.state_dir).checkpoint("telecom", "subscribers").cursor is None
    assert list((settings.staging_dir / "telecom" / "subscribers").iterdir())


def test_a_sync_lands_in_the_bucket_and_reads_back_locked(prod, s3_server, sandbox_settings) -> None:
    [result] = sync(prod, "telecom")
    visible = store.visible(sandbox_settings, "telecom.subscribers").num_rows
    assert result.landed == count(prod, "SELECT count(*) FROM raw.telecom_subscribers") == result.passed
    assert result.passed + result.quarantined == visible
    keys = objects(s3_server, prod)
    assert any(k.endswith(".parquet") and "/raw/telecom_subscribers/" in k for k in keys), keys
    assert not list(prod.warehouse_dir.rglob("*.parquet"))  # nothing landed on the local disk
    con, snapshot = lake.connect_locked(prod)  # the access layer's locked connection reads the bucket
    try:
        assert con.execute("SELECT count(*) FROM raw.telecom_subscribers").fetchone()[0] == result.landed
        with pytest.raises(Exception, match="disabled by configuration"):
            con.execute("FROM read_csv('/etc/passwd')")
    finally:
        con.close()
    assert snapshot is not None


def test_an_unreachable_bucket_is_one_line_and_nothing_lands(prod) -> None:
    broken = prod.model_copy(update={"s3": prod.s3.model_copy(update={"endpoint": "http://127.0.0.1:1"})})
    with pytest.raises(SourceUnavailable, match=r"warehouse storage s3://xgate-lake/\w+/ cannot be written") as caught:
        sync(broken, "telecom")
    message = str(caught.value)
    assert "\n" not in message and prod.s3.secret.get_secret_value() not in message
    assert_nothing_landed(prod)


@pytest.mark.parametrize("wrong", ["secret", "key_id"])
def test_wrong_credentials_are_refused_in_one_line_and_nothing_lands(prod, wrong) -> None:
    bad = prod.s3.model_copy(update={wrong: SecretStr("WRONG" + prod.s3.secret.get_secret_value()[:12])})
    with pytest.raises(SourceRefused, match=r"warehouse storage s3://xgate-lake/\w+/ refused") as caught:
        sync(prod.model_copy(update={"s3": bad}), "telecom")
    message = str(caught.value)
    for secret in (prod.s3.secret, prod.s3.key_id, bad.secret, bad.key_id):
        assert secret.get_secret_value() not in message
    assert "\n" not in message
    assert_nothing_landed(prod)


def test_an_unreachable_catalog_names_it_and_the_bucket_is_untouched(prod, s3_server) -> None:
    broken = prod.model_copy(update={"catalog_url": "ducklake:postgres:dbname=nope host=127.0.0.1 port=1 user=x"})
    with pytest.raises(SourceUnavailable, match="warehouse catalog ducklake:postgres:dbname=nope"):
        sync(broken, "telecom")
    assert objects(s3_server, prod) == []
    assert StateStore(prod.state_dir).checkpoint("telecom", "subscribers").cursor is None


def test_a_bucket_without_credentials_is_a_configuration_error(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, lake_data_path="s3://somewhere/lake")
    with pytest.raises(ConfigError, match="XGATE_S3__KEY_ID"):
        lake.connect(settings)


def test_maintain_merges_and_deletes_files_in_the_bucket(prod, s3_server) -> None:
    from warehouse.cli import maintain
    from xgate import settings as settings_module

    con = lake.connect(prod)
    try:
        con.execute("CREATE TABLE scratch AS SELECT range AS i FROM range(100)")
        con.execute("INSERT INTO scratch SELECT range FROM range(100, 200)")
    finally:
        con.close()
    assert len([k for k in objects(s3_server, prod) if "/scratch/" in k]) == 2
    settings_module._settings = prod
    try:
        maintain(keep_days=0)
    finally:
        settings_module._settings = None
    assert len([k for k in objects(s3_server, prod) if "/scratch/" in k]) == 1
    assert count(prod, "SELECT count(*), sum(i) FROM scratch") == 200


def test_the_key_pair_is_cut_out_of_lines_and_short_ones_garble_nothing(tmp_path) -> None:
    from warehouse import storage
    from xgate.settings import ObjectStore

    line = "catalog dbname=lake host=127.0.0.1 user=postgres: AKIAEXAMPLE0001 / s3cr3t-Example-Secret refused"
    real = ObjectStore(key_id="AKIAEXAMPLE0001", secret="s3cr3t-Example-Secret")
    toy = ObjectStore(key_id="k", secret="s")  # a test store's: cutting every 'k' and 's' would garble the line
    path = {"data_dir": tmp_path, "lake_data_path": "s3://b/p/"}
    assert (
        storage.shown(Settings(**path, s3=real), line)
        == "catalog dbname=lake host=127.0.0.1 user=postgres: *** / *** refused"
    )
    assert storage.shown(Settings(**path, s3=toy), line) == line


def test_writers_meeting_a_fresh_catalog_all_open_it(tmp_path, lake_database) -> None:
    """The first attach creates the catalog's tables; writers that start together (two Celery workers'
    first tasks) must not fail on each other's creation."""
    import threading

    settings = Settings(data_dir=tmp_path, catalog_url=lake_database)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def attach() -> None:
        try:
            start.wait()
            lake.connect(settings).close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=attach) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

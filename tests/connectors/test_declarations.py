"""Declarations are validated; a source schema change is reported, never swallowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from connectors import commit, extract
from connectors.connections import describe
from connectors.declarations import SOURCES_DIR, load_source, source, sources
from sandbox import dbload
from xgate.errors import ConfigError
from xgate.settings import Connection


def test_bad_declaration_names_file_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    rest, sql = (
        "name: x\nkind: rest\ndepartment: d\nconnection: c\n",
        "name: x\nkind: sql\ndepartment: d\nconnection: c\n",
    )
    path.write_text(rest + "streams:\n  - {name: s, cursor_field: t}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*needs path"):
        load_source(path)
    path.write_text(sql + "streams:\n  - {name: s, table: t, cursor_field: t, path: /v}\n")
    with pytest.raises(ConfigError, match=r"path not for a sql source"):
        load_source(path)
    path.write_text(rest + "streams:\n  - {name: s, path: /s, primary_key: id}\n")
    with pytest.raises(ConfigError, match=r"primary_key: Extra inputs"):  # the key is the contract's
        load_source(path)
    path.write_text(
        rest + "auth: {type: api_key, location: cookie}\n"
        "streams:\n  - {name: s, path: /s, cursor_field: t, paginator: {type: cursor}}\n"
    )
    with pytest.raises(ConfigError, match=r"auth\.api_key\.location.*paginator\.cursor.*exactly one"):
        load_source(path)
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_source(path)
    path.write_text("name: x\nkind: ftp\ndepartment: d\nconnection: c\nstreams: []\n")
    with pytest.raises(ConfigError, match="kind"):
        load_source(path)


def test_a_source_is_read_from_its_own_file_alone(tmp_path: Path) -> None:
    civil = (SOURCES_DIR / "civil.yaml").read_text(encoding="utf-8")
    (tmp_path / "civil.yaml").write_text(civil, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    assert source("civil", tmp_path).name == "civil"
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        sources(tmp_path)
    (tmp_path / "other.yaml").write_text(civil, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"name the file civil\.yaml"):
        source("other", tmp_path)
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        source("nope", tmp_path)


def test_a_source_retries_at_least_twice(tmp_path: Path) -> None:
    raw = yaml.safe_load((SOURCES_DIR / "civil.yaml").read_text(encoding="utf-8"))
    (tmp_path / "civil.yaml").write_text(yaml.safe_dump(raw | {"retries": 1}), encoding="utf-8")
    with pytest.raises(ConfigError, match="retries"):
        load_source(tmp_path / "civil.yaml")


def test_schema_drift_is_reported(extract_settings, own_sandbox) -> None:
    dbload.load(own_sandbox, "postgres", ("civil",))
    url = dbload.database_url(own_sandbox, "postgres", "civil").render_as_string(hide_password=False)
    settings = extract_settings.model_copy(
        update={"connections": extract_settings.connections | {"civil": Connection(url=url)}}
    )
    [first] = extract(settings, "civil", "deaths")
    commit(settings, first.batch_id)
    assert first.schema_changes == {}
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE deaths ADD COLUMN cause TEXT"))
        con.execute(sa.text("ALTER TABLE deaths DROP COLUMN registered_on"))
        con.execute(sa.text("ALTER TABLE deaths ALTER COLUMN death_date TYPE TEXT"))
    engine.dispose()
    [second] = extract(settings, "civil", "deaths", mode="full")
    assert second.schema_changes == {
        "added": ["cause"],
        "dropped": ["registered_on"],
        "retyped": {"death_date": ["date32[day]", "string"]},
    }
    assert second.rows == first.rows


def test_describe_hides_secrets() -> None:
    shown = describe(Connection(url="postgresql+psycopg://etl:s3cret@db.example:5432/civil"))
    assert "s3cret" not in shown and "db.example:5432" in shown
    assert describe(Connection(url="http://127.0.0.1:1/x", token="tok")) == "http://127.0.0.1:1/x"

"""Paths people give: never into xgate's own stores (followed through links), and only the sudo caller's."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

import pytest

from access import files, store
from access.users import Refused
from tests.access.conftest import write_users
from xgate.cli import main
from xgate.settings import Settings, reset_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", users_file=write_users(tmp_path / "people"))
    store.key(settings, "chain")  # the access key exists, as on any running system
    return settings


def test_links_into_the_stores_are_refused(settings: Settings, tmp_path: Path) -> None:
    key = store.access_dir(settings) / "access.key"
    (tmp_path / "key.csv").symlink_to(key)
    (tmp_path / "users.csv").symlink_to(settings.users_file)
    for given in (tmp_path / "key.csv", tmp_path / "users.csv", settings.data_dir / "warehouse" / "x.parquet"):
        with pytest.raises(Refused, match="inside xgate's own storage"):
            files.checked(settings, given)
    with pytest.raises(Refused):
        files.checked(settings, settings.data_dir / "reports" / "quality.html", write=True)
    mine = tmp_path / "list.csv"
    mine.write_text("a\n1\n")
    assert files.checked(settings, mine) == mine.resolve()
    sandbox = settings.data_dir / "sandbox" / "inbox"
    sandbox.mkdir(parents=True)
    assert files.checked(settings, sandbox / "drop.csv").parent == sandbox.resolve()  # synthetic, there to try


def test_commands_never_echo_a_stored_file(settings: Settings, tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "key.csv").symlink_to(store.access_dir(settings) / "access.key")
    secret = (store.access_dir(settings) / "access.key").read_text()
    monkeypatch.setenv("XGATE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("XGATE_USERS_FILE", str(settings.users_file))
    for args in (
        ("validate", "civil.residents", str(tmp_path / "key.csv")),
        ("link", "file", str(tmp_path / "key.csv"), "--map", "name=a", "--against", str(tmp_path / "key.csv")),
        ("report", "--out", str(settings.data_dir / "audit" / "reads.jsonl")),
    ):
        reset_settings()
        monkeypatch.setattr(sys, "argv", ["xgate", *args])
        with pytest.raises(SystemExit) as ended:
            main()
        out, err = capsys.readouterr()
        assert ended.value.code == 2 and "own storage" in err and secret[:16] not in out + err, (args, err)


def test_a_sudo_caller_uses_only_files_their_account_may(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    other = next(p for p in pwd.getpwall() if p.pw_uid not in (0, os.getuid()) and p.pw_uid < 65534)
    monkeypatch.setenv("SUDO_USER", other.pw_name)
    monkeypatch.setenv("SUDO_UID", str(other.pw_uid))
    private = tmp_path / "private.csv"
    private.write_text("a\n")
    private.chmod(0o600)  # the service account's, not the caller's
    with pytest.raises(Refused, match="may not read"):
        files.checked(settings, private)
    private.chmod(0o644)
    assert files.checked(settings, private) == private.resolve()
    with pytest.raises(Refused, match="may not write"):
        files.checked(settings, tmp_path / "out.csv", write=True)  # the folder is not the caller's to write

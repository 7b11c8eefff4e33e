"""Paths people give: never into xgate's own stores (followed through links), and only the sudo caller's."""

from __future__ import annotations

import os
import pwd
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from access import audit, files, store
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
    (settings.data_dir / "reports").mkdir(parents=True)
    with pytest.raises(Refused), files.written(settings, settings.data_dir / "reports" / "quality.html"):
        pass
    mine = tmp_path / "list.csv"
    mine.write_text("a\n1\n")
    copy = files.checked(settings, mine)
    assert copy != mine and copy.name == mine.name and copy.read_text() == "a\n1\n"  # readers get a private copy
    sandbox = settings.data_dir / "sandbox" / "inbox"
    sandbox.mkdir(parents=True)
    (sandbox / "drop.csv").write_text("x\n")
    assert files.checked(settings, sandbox / "drop.csv").read_text() == "x\n"  # synthetic, there to try


def test_a_link_swapped_in_after_the_check_leads_nowhere(settings: Settings, tmp_path: Path) -> None:
    """Checked, then written seconds later: the write goes into the file opened at the check, so replacing
    the name by a link to a store's file in between changes nothing (it overwrote the audit before)."""
    audit_log = store.access_dir(settings) / "ledger.jsonl"  # a store's file (the audit records the refusals)
    audit_log.write_text("the audit\n")
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    with files.written(settings, out) as staged:
        out.unlink()
        out.symlink_to(audit_log)  # the swap, mid-command
        staged.write_text("result\n")
    assert audit_log.read_text() == "the audit\n"
    out.unlink()
    out.symlink_to(audit_log)
    with pytest.raises(Refused), files.written(settings, out):  # a link named as the output is never followed
        pass
    hard = tmp_path / "hard.csv"
    os.link(audit_log, hard)  # another name of a store's file
    with pytest.raises(Refused), files.written(settings, hard):
        pass
    assert audit_log.read_text() == "the audit\n"
    listing = tmp_path / "list.csv"
    listing.write_text("a\n")
    copy = files.checked(settings, listing)
    listing.unlink()
    listing.symlink_to(audit_log)
    assert copy.read_text() == "a\n"  # the reader reads what was checked


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
    shared = Path(tempfile.mkdtemp(dir="/tmp"))  # a folder every account may pass through
    shared.chmod(0o755)
    try:
        private = shared / "private.csv"
        private.write_text("a\n")
        private.chmod(0o600)  # the service account's, not the caller's
        with pytest.raises(Refused, match="may not read"):
            files.checked(settings, private)
        private.chmod(0o644)
        assert files.checked(settings, private).read_text() == "a\n"
        shared.chmod(0o700)  # a folder the caller cannot pass through hides the file from them
        with pytest.raises(Refused, match="may not read"):
            files.checked(settings, private)
        with pytest.raises(Refused, match="may not write"), files.written(settings, shared / "out.csv"):
            pass  # the folder is not the caller's to write
    finally:
        shutil.rmtree(shared)


def test_every_refused_path_is_recorded(settings: Settings, tmp_path: Path) -> None:
    """Probing for xgate's files, or handing it something that is no file, leaves an audit record like a
    refused read, whichever command asked; the path is kept scrubbed (an ID number in a name is hashed)."""
    named = tmp_path / "list_510422198602092173.csv"
    named.symlink_to(store.access_dir(settings) / "access.key")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for given in (named, settings.users_file, fifo, Path("/dev/zero"), tmp_path / "missing.csv"):
        with pytest.raises(Refused):
            files.checked(settings, given)
    with pytest.raises(Refused), files.written(settings, tmp_path / "no" / "such" / "folder.csv"):
        pass
    with pytest.raises(Refused), files.written(settings, store.access_dir(settings) / "out.csv"):
        pass
    records = audit.records(settings)
    found = [(r["command"], r["outcome"], r["query"][:10]) for r in records]
    assert found == [("file", "refused", "read file ")] * 5 + [("file", "refused", "write file")] * 2
    assert records[0]["user"].startswith("os:") and "own storage" in records[0]["reason"]
    assert "not a regular file" in records[2]["reason"] and "not a regular file" in records[3]["reason"]
    assert not any("510422198602092173" in r["query"] + r["reason"] for r in records)

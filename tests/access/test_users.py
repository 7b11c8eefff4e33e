"""The users file, entry by entry; identity proven by a sign-in token or the OS account, never claimed."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from access import identity, users
from access.users import Refused
from tests.access.conftest import PASSWORD, write_users
from xgate.errors import ConfigError
from xgate.settings import Settings

ACCOUNT = pwd.getpwuid(os.getuid()).pw_name


def _settings(tmp_path: Path, text: str) -> Settings:
    file = tmp_path / "users.yaml"
    file.write_text(text, encoding="utf-8")
    return Settings(data_dir=tmp_path, users_file=file, access_dir=tmp_path / "access")


def test_one_bad_entry_refuses_only_that_user_with_file_and_line(tmp_path: Path) -> None:
    text = (
        "users:\n  - {name: li.wei, role: investigator}\n  - {name: zhao, role: investigatr}\n"
        "  - {name: wang, role: auditor}\n  - {name: wang, role: admin}\n"
    )
    settings = _settings(tmp_path, text)
    assert users.find(settings, "li.wei").role == "investigator"
    with pytest.raises(Refused, match=r"users.yaml:3: role"):
        users.find(settings, "zhao")
    with pytest.raises(Refused, match=r"users.yaml:5: user 'wang' is defined more than once"):
        users.find(settings, "wang")
    with pytest.raises(Refused, match="unknown user 'nobody'"):
        users.find(settings, "nobody")


def test_a_key_given_twice_refuses_the_entry(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, "users:\n  - {name: zhang, role: investigator, role: admin}\n  - {name: li, role: auditor}\n"
    )
    with pytest.raises(Refused, match="'role' is given twice"):
        users.find(settings, "zhang")
    assert users.find(settings, "li").role == "auditor"


def test_an_os_account_mapped_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no sign-in token of the machine's own
    settings = _settings(tmp_path, f"users:\n  - {{name: a, role: engineer, os_account: {ACCOUNT}}}\n"
                         f"  - {{name: b, role: admin, os_account: {ACCOUNT}}}\n")  # fmt: skip
    with pytest.raises(Refused, match="not an xgate user"):
        identity.current(settings)
    assert set(users.directory(settings).problems) == {"a", "b"}


@pytest.mark.parametrize("text", ["users: [unclosed\n", "people: []\n"])
def test_an_unreadable_users_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="users file"):
        users.directory(_settings(tmp_path, text))


def test_the_os_account_is_the_user_it_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = _settings(tmp_path, f"users:\n  - {{name: li.wei, role: investigator, os_account: {ACCOUNT}}}\n")
    assert identity.current(settings).name == "li.wei"
    monkeypatch.setenv("USER", "root-imposter")
    monkeypatch.setenv("LOGNAME", "root-imposter")  # environment names are not identity
    assert identity.current(settings).name == "li.wei"


def test_sudo_caller_counts_only_for_the_access_folder_owner(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    other = next(p for p in pwd.getpwall() if p.pw_uid != os.getuid())
    settings = _settings(tmp_path, f"users:\n  - {{name: ops, role: admin, os_account: {ACCOUNT}}}\n"
                         f"  - {{name: li, role: investigator, os_account: {other.pw_name}}}\n")  # fmt: skip
    monkeypatch.setenv("SUDO_USER", other.pw_name)
    monkeypatch.setenv("SUDO_UID", str(other.pw_uid))
    assert identity.current(settings).name == "ops"  # no access folder owned by this account: sudo not trusted
    (tmp_path / "access").mkdir()
    assert identity.current(settings).name == "li"  # run as the service account through sudo: the caller counts
    monkeypatch.setenv("SUDO_UID", str(os.getuid()))  # a forged pair does not match
    assert identity.current(settings).name == "ops"


def test_sign_in_token_proves_the_user_until_it_expires_or_the_password_changes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = Settings(data_dir=tmp_path, users_file=write_users(tmp_path), access_dir=tmp_path / "access")
    admin = users.find(settings, "admin")
    assert identity.check_password(admin, PASSWORD) and not identity.check_password(admin, "guess")
    token = identity.issue(settings, admin)
    assert identity.current(settings.model_copy(update={"token": SecretStr(token)})).name == "admin"
    body, _, signature = token.partition(".")
    forged = identity._b64(identity.base64.urlsafe_b64decode(body + "==").replace(b'"admin"', b'"auditor"'))
    with pytest.raises(Refused, match="not valid"):
        identity.current(settings.model_copy(update={"token": SecretStr(f"{forged}.{signature}")}))
    expired = identity.issue(settings, admin, hours=-1)
    with pytest.raises(Refused, match="expired"):
        identity.current(settings.model_copy(update={"token": SecretStr(expired)}))
    other_key = settings.model_copy(
        update={"access_key": SecretStr("another deployment, another key: " + "0" * 32), "token": SecretStr(token)}
    )
    with pytest.raises(Refused, match="not valid"):
        identity.current(other_key)
    file = settings.users_file
    entries = yaml.safe_load(file.read_text())
    next(e for e in entries["users"] if e["name"] == "admin")["password_hash"] = identity.hash_password("new")
    file.write_text(yaml.safe_dump(entries))
    with pytest.raises(Refused, match="password changed"):
        identity.current(settings.model_copy(update={"token": SecretStr(token)}))


def test_nobody_is_anybody_without_proof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = Settings(data_dir=tmp_path, users_file=write_users(tmp_path), access_dir=tmp_path / "access")
    with pytest.raises(Refused, match=f"OS account '{ACCOUNT}' is not an xgate user"):
        identity.current(settings)
    with pytest.raises(Refused, match="not valid"):
        identity.current(settings.model_copy(update={"token": SecretStr("admin")}))


def test_sign_in_failures_are_kept_only_while_they_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failures file drops a name whose last failure no longer counts (one kept in clear before names were
    kept as tokens goes too), so it holds only the names it still locks."""
    import json
    import time

    settings = Settings(data_dir=tmp_path, access_dir=tmp_path / "access", users_file=write_users(tmp_path / "p"))
    failures = tmp_path / "access" / "signin-failures.json"
    failures.parent.mkdir()
    failures.write_text(json.dumps({"510421194204080455": [time.time() - identity.LOCK_MINUTES * 60 - 1]}))
    with pytest.raises(Refused, match="wrong user name or password"):
        identity.sign_in(settings, "13912345678", "guess")
    [kept] = json.loads(failures.read_text())
    assert kept.startswith(identity.typed_name(settings, "13912345678") + " from <origin:")


def test_failing_from_one_place_shuts_the_name_there_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anyone who reaches the web port can fail on purpose: that shuts the name for that client, not for its
    owner elsewhere; failures from many places together shut it everywhere."""
    monkeypatch.setattr(identity, "LOCK_ANYWHERE", 12)  # fewer password checks than the default's 30
    settings = Settings(data_dir=tmp_path, access_dir=tmp_path / "access", users_file=write_users(tmp_path / "p"))
    password = PASSWORD
    for _ in range(identity.LOCK_AFTER):
        with pytest.raises(Refused, match="wrong user name or password"):
            identity.sign_in(settings, "investigator", "guess", origin="web 10.0.0.9")
    with pytest.raises(Refused, match="locked"):
        identity.sign_in(settings, "investigator", password, origin="web 10.0.0.9")
    for _ in range(20):  # tries while shut count for nothing: they add no failure anywhere
        with pytest.raises(Refused, match="locked"):
            identity.sign_in(settings, "investigator", "guess", origin="web 10.0.0.9")
    assert identity.sign_in(settings, "investigator", password).name == "investigator"  # the command line
    assert identity.sign_in(settings, "investigator", password, origin="web 10.0.0.7").name == "investigator"
    for place in range(identity.LOCK_ANYWHERE // (identity.LOCK_AFTER - 1) + 1):
        for _ in range(identity.LOCK_AFTER - 1):
            with pytest.raises(Refused):
                identity.sign_in(settings, "investigator", "guess", origin=f"web 10.1.0.{place}")
    with pytest.raises(Refused, match="locked"):  # many web clients together shut the name on the web
        identity.sign_in(settings, "investigator", password, origin="web 10.2.0.1")
    assert identity.sign_in(settings, "investigator", password).name == "investigator"  # never the command line
    # this machine's loopback addresses are one client, an IPv6 client its /64
    assert {identity.web_origin(h) for h in ("127.0.0.2", "127.0.0.7", "::1")} == {"web loopback"}
    six = identity.web_origin("2001:db8::1")
    assert six == identity.web_origin("2001:db8::ffff") != identity.web_origin("10.0.0.9")

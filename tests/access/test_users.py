"""Users from the roles file; the role's powers from code."""

from __future__ import annotations

from pathlib import Path

import pytest

from access import users
from xgate.errors import ConfigError
from xgate.settings import Settings


def test_demo_users_one_per_role(tmp_path: Path) -> None:
    found = users.users(Settings(data_dir=tmp_path))
    assert {name: u.role for name, u in found.items()} == {r: r for r in users.PERMISSIONS}


def test_users_file_setting_and_user_from_environment(tmp_path: Path) -> None:
    file = tmp_path / "users.yaml"
    file.write_text("users:\n  - {name: li.wei, role: investigator}\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path, users_file=file, user="li.wei")
    assert users.resolve(settings, None).role == "investigator"
    with pytest.raises(users.Refused, match="unknown user 'investigator'"):
        users.resolve(settings, "investigator")
    users.authorise(users.resolve(settings, None), "person")
    with pytest.raises(users.Refused, match="may not grant approve"):
        users.authorise(users.resolve(settings, None), "grant approve")


@pytest.mark.parametrize("text", ["users:\n  - {name: x, role: superuser}\n", "users: [unclosed\n"])
def test_bad_users_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    file = tmp_path / "users.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="users file"):
        users.users(Settings(data_dir=tmp_path, users_file=file))

"""The connection profile the sandbox writes is all xgate needs to find its department systems."""

from __future__ import annotations

import stat

from sandbox import store
from sandbox.servers import apis
from xgate.settings import PROFILE, load_settings


def test_serve_writes_a_private_profile_that_xgate_reads(sandbox_settings, tmp_path) -> None:
    path = sandbox_settings.data_dir / PROFILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the sandbox's credentials
    connections = load_settings(data_dir=tmp_path, profile=path).connections
    assert set(connections) == {*apis(), "housing_inbox"}  # no database loaded in the session sandbox yet
    assert connections["health"].url == apis()["health"].url(sandbox_settings)
    assert connections["telecom"].token.get_secret_value() == store.ensure_token(sandbox_settings)
    assert connections["social_pensions"].username and connections["social_pensions"].password

"""The ``xgate`` command as a user meets it: bad input ends in one line and a non-zero exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.servers import apis, process


def xgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xgate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | (env or {}),
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    assert all(w in message for w in words), result.stderr


def test_help_everywhere() -> None:
    for args in ((), ("sandbox",), ("sandbox", "generate"), ("sandbox", "load-db")):
        result = xgate(*args, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout


def test_negative_count(tmp_path: Path) -> None:
    assert_one_line_error(
        xgate("sandbox", "generate", "--people", "-5", env={"XGATE_DATA_DIR": str(tmp_path)}), "at least 1"
    )


def test_bad_target() -> None:
    assert_one_line_error(xgate("sandbox", "load-db", "--target", "oracle"), "oracle")


def test_serve_before_generate(tmp_path: Path) -> None:
    assert_one_line_error(xgate("sandbox", "serve", env={"XGATE_DATA_DIR": str(tmp_path)}), "generate")


def test_port_in_use(own_sandbox) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = xgate(
            "sandbox",
            "serve",
            env={"XGATE_DATA_DIR": str(own_sandbox.data_dir), "XGATE_SANDBOX_PORTS__TELECOM": str(port)},
        )
    assert_one_line_error(result, "telecom port", str(port), "in use")
    assert process.running_pid(own_sandbox) is None


def test_unreachable_database(own_sandbox) -> None:
    result = xgate(
        "sandbox",
        "load-db",
        "--target",
        "postgres",
        env={
            "XGATE_DATA_DIR": str(own_sandbox.data_dir),
            "XGATE_SANDBOX_PG_URL": "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/x",
        },
    )
    assert_one_line_error(result, "127.0.0.1:1")
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize("command", [("sandbox", "stop"), ("sandbox", "status")])
def test_lifecycle_commands_run(own_sandbox, command) -> None:
    result = xgate(*command, env={"XGATE_DATA_DIR": str(own_sandbox.data_dir)})
    assert result.returncode == 0, result.stderr


def test_bad_setting_is_one_line_and_never_echoes_its_value(tmp_path: Path) -> None:
    secret = '{"civil": {"url": "postgresql://u:s3cr3t@h/db", "token": 5}}'
    result = xgate(
        "sources", env={"XGATE_DATA_DIR": str(tmp_path), "XGATE_CONNECTIONS": secret, "XGATE_HTTP_RETRIES": "many"}
    )
    assert_one_line_error(result, "invalid setting", "http_retries")
    assert result.returncode == 2 and "s3cr3t" not in result.stderr


def test_refused_credentials_fail_in_one_try_with_one_line(sandbox_settings, token, tmp_path: Path) -> None:
    telecom = apis()["telecom"].url(sandbox_settings)
    stats = f"{telecom}/_sandbox/stats"
    before = requests.get(stats, headers={"Authorization": f"Bearer {token}"}, timeout=5).json().get("401", 0)
    env = {
        "XGATE_DATA_DIR": str(tmp_path),
        "XGATE_CONNECTIONS__TELECOM__URL": telecom,
        "XGATE_CONNECTIONS__TELECOM__TOKEN": "wrong-token-123",
    }
    result = xgate("extract", "telecom", env=env)
    assert_one_line_error(result, "telecom/subscribers page 1:", "HTTP 401 Unauthorized", "not retried")
    assert result.returncode == 1 and "wrong-token-123" not in result.stderr + result.stdout
    assert requests.get(stats, headers={"Authorization": f"Bearer {token}"}, timeout=5).json()["401"] == before + 1


def test_a_missing_connection_says_how_to_set_it(tmp_path: Path) -> None:
    result = xgate("extract", "telecom", env={"XGATE_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "no connection 'telecom'", "XGATE_CONNECTIONS__TELECOM__URL", "xgate_telecom")
    assert result.returncode == 2

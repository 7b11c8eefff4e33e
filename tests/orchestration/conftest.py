"""Airflow for the orchestration tests: one home (SQLite metadata) per session, start-up paid once.

DAG tasks read their settings from the ``XGATE_*`` environment, as they do under a real scheduler, so a
test puts its :class:`Settings` there with :func:`export`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestration.home import prepare
from xgate.settings import Settings, reset_settings


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare(Settings(data_dir=tmp_path_factory.mktemp("airflow-home")))


def settings_env(settings: Settings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump(exclude={"connections"}, exclude_unset=True).items():
        nested = value.items() if isinstance(value, dict) else [("", value)]  # the object store: XGATE_S3__*
        for part, item in nested:
            if item is not None:
                shown = item.get_secret_value() if isinstance(item, SecretStr) else str(item)
                env[f"XGATE_{name.upper()}{'__' + part.upper() if part else ''}"] = shown
    for name, connection in settings.connections.items():
        env[f"XGATE_CONNECTIONS__{name.upper()}__URL"] = connection.url
        if connection.token:
            env[f"XGATE_CONNECTIONS__{name.upper()}__TOKEN"] = connection.token.get_secret_value()
    return env


def export(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    reset_settings()


class Webhook:
    """A real HTTP endpoint on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=not-logged"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, kind: str) -> list[dict]:
        return [e for e in self.received if e["event"] == kind]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()

"""Start and stop the sandbox APIs: one background process serving every API of :func:`apis`, each on
its own port.

``serve`` checks the ports first (a port in use is a one-line error, not a traceback), starts the
process detached with its log under the data directory, waits until every API answers ``/healthz``,
records the pid and writes the connection profile; ``stop`` ends it. ``python -m
sandbox.servers.process`` is the process itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import uvicorn

from sandbox import profile, store
from sandbox.servers import apis
from sandbox.servers.control import Control
from sandbox.settings import SandboxSettings
from xgate.errors import ConfigError, SourceUnavailable


def _pid_file(settings: SandboxSettings) -> Path:
    return store.paths(settings).root / "run" / "servers.pid"


def urls(settings: SandboxSettings) -> dict[str, str]:
    """Each API's root URL."""
    return {name: api.url(settings) for name, api in apis().items()}


def _port(settings: SandboxSettings, name: str) -> int:
    return settings.ports.get(name, apis()[name].port)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def running_pid(settings: SandboxSettings) -> int | None:
    file = _pid_file(settings)
    if not file.exists():
        return None
    pid = int(file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        file.unlink()
        return None
    return pid


def serve(settings: SandboxSettings, wait_seconds: float = 30.0) -> dict[str, str]:
    store.read_state(settings)  # refuses when nothing was generated
    if running_pid(settings):
        raise ConfigError(f"sandbox servers already running (pid {running_pid(settings)}); 'xgate sandbox stop' first")
    for name in apis():
        if not _port_free(settings.host, _port(settings, name)):
            raise ConfigError(f"{name} port {_port(settings, name)} on {settings.host} is already in use")
    log = store.paths(settings).root / "run" / "servers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "XGATE_DATA_DIR": str(settings.data_dir.resolve()),
        "XGATE_SANDBOX_HOST": settings.host,
        "XGATE_SANDBOX_RATE_LIMIT": str(settings.rate_limit),
        **{f"XGATE_SANDBOX_PORTS__{name.upper()}": str(_port(settings, name)) for name in apis()},
    }
    with log.open("ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "sandbox.servers.process"],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    _pid_file(settings).write_text(str(child.pid))
    if not answering(settings, wait_seconds, child):
        stop(settings)
        if child.poll() is not None:
            raise SourceUnavailable(f"sandbox servers exited at start (code {child.returncode}); see {log}")
        raise SourceUnavailable(f"sandbox servers did not answer within {wait_seconds:.0f}s; see {log}")
    profile.write(settings)
    return urls(settings)


def answering(settings: SandboxSettings, wait_seconds: float, child: subprocess.Popen | None = None) -> bool:
    """Whether every API answers its health check within ``wait_seconds`` (False at once if ``child`` exits)."""
    deadline = time.monotonic() + wait_seconds
    for url in (f"http://{settings.host}:{_port(settings, name)}/healthz" for name in apis()):
        while True:
            if child is not None and child.poll() is not None:
                return False
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1).ok:
                    break
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
    return True


def stop(settings: SandboxSettings) -> bool:
    pid = running_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(20):  # a second to end; then killed (it keeps nothing: its data is on disk already)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return True


async def _run(settings: SandboxSettings) -> None:
    token = store.ensure_token(settings)
    servers = []
    for name, api in apis().items():
        app = api.app(settings, Control(token=token, rate_limit=settings.rate_limit))
        config = uvicorn.Config(
            app, host=settings.host, port=_port(settings, name), log_level="warning", access_log=False
        )
        servers.append(uvicorn.Server(config))
    await asyncio.gather(*(s.serve() for s in servers))


if __name__ == "__main__":
    asyncio.run(_run(SandboxSettings()))

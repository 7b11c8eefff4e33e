"""Start and stop the sandbox APIs: one background process serving telecom and health on two ports.

``serve`` checks the ports first (a port in use is a one-line error, not a traceback), starts the
process detached with its log under the data directory, waits until both answer ``/healthz``, and
records the pid; ``stop`` ends it. ``python -m sandbox.servers.process`` is the process itself.
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

from sandbox import store
from sandbox.servers.control import Control
from sandbox.servers.health import health_app
from sandbox.servers.telecom import telecom_app
from xgate.errors import ConfigError, SourceUnavailable
from xgate.settings import Settings, get_settings


def _pid_file(settings: Settings) -> Path:
    return store.paths(settings).root / "run" / "servers.pid"


def urls(settings: Settings) -> dict[str, str]:
    host = settings.sandbox_host
    return {"telecom": f"http://{host}:{settings.telecom_port}", "health": f"http://{host}:{settings.health_port}/fhir"}


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def running_pid(settings: Settings) -> int | None:
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


def serve(settings: Settings, wait_seconds: float = 30.0) -> dict[str, str]:
    store.read_state(settings)  # refuses when nothing was generated
    if running_pid(settings):
        raise ConfigError(f"sandbox servers already running (pid {running_pid(settings)}); 'xgate sandbox stop' first")
    for name, port in (("telecom", settings.telecom_port), ("health", settings.health_port)):
        if not _port_free(settings.sandbox_host, port):
            raise ConfigError(f"{name} port {port} on {settings.sandbox_host} is already in use")
    log = store.paths(settings).root / "run" / "servers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "XGATE_DATA_DIR": str(settings.data_dir.resolve()),
        "XGATE_TELECOM_PORT": str(settings.telecom_port),
        "XGATE_HEALTH_PORT": str(settings.health_port),
        "XGATE_SANDBOX_HOST": settings.sandbox_host,
        "XGATE_SANDBOX_RATE_LIMIT": str(settings.sandbox_rate_limit),
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
    deadline = time.monotonic() + wait_seconds
    for url in (urls(settings)["telecom"] + "/healthz", urls(settings)["health"].removesuffix("/fhir") + "/healthz"):
        while True:
            if child.poll() is not None:
                raise SourceUnavailable(f"sandbox servers exited at start (code {child.returncode}); see {log}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1).ok:
                    break
            if time.monotonic() > deadline:
                stop(settings)
                raise SourceUnavailable(f"sandbox servers did not answer within {wait_seconds:.0f}s; see {log}")
            time.sleep(0.1)
    return urls(settings)


def stop(settings: Settings) -> bool:
    pid = running_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return True


async def _run(settings: Settings) -> None:
    token = store.ensure_token(settings)
    servers = []
    for factory, port in ((telecom_app, settings.telecom_port), (health_app, settings.health_port)):
        app = factory(settings, Control(token=token, rate_limit=settings.sandbox_rate_limit))
        config = uvicorn.Config(app, host=settings.sandbox_host, port=port, log_level="warning", access_log=False)
        servers.append(uvicorn.Server(config))
    await asyncio.gather(*(s.serve() for s in servers))


if __name__ == "__main__":
    asyncio.run(_run(get_settings()))

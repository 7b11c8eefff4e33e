"""The connection profile: where xgate finds the sandbox's department systems, written as the
``XGATE_CONNECTIONS__<NAME>__<FIELD>`` lines xgate reads from ``<data dir>/connections.env`` (see
``xgate.settings``). xgate itself knows no sandbox: this file is the whole handshake.

Written by ``xgate sandbox generate``, ``serve`` and ``load-db``: every API (its root URL and the
credentials it accepts), the department databases as last loaded, and the file-drop inbox. Mode 0600,
since it holds the sandbox's tokens.
"""

from __future__ import annotations

import os
from pathlib import Path

from sandbox import dbload, store
from sandbox.servers import apis
from sandbox.settings import SandboxSettings
from xgate.settings import PROFILE


def connections(settings: SandboxSettings) -> dict[str, dict[str, str]]:
    """Connection name -> its fields (url, token, username, password)."""
    found: dict[str, dict[str, str]] = {}
    for api in apis().values():
        found |= api.profile(settings)
    for department, target in store.read_state(settings).get("serving", {}).items():
        url = dbload.database_url(settings, target, department).render_as_string(hide_password=False)
        found[department] = {"url": url}
    found["housing_inbox"] = {"url": str(store.paths(settings).inbox.resolve())}
    return found


def write(settings: SandboxSettings) -> Path:
    lines = ["# written by xgate sandbox: where the sandbox's department systems are, and their credentials"]
    for name, fields in sorted(connections(settings).items()):
        lines += [f"XGATE_CONNECTIONS__{name.upper()}__{field.upper()}={value}" for field, value in fields.items()]
    target = settings.data_dir / PROFILE
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return target

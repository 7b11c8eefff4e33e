"""Moving the sandbox through time: what changes in each department when a wave arrives."""

from __future__ import annotations

import shutil

from sandbox import dbload, store
from sandbox.settings import SandboxSettings
from xgate.errors import ConfigError


def load_databases(settings: SandboxSettings, target: dbload.Target, departments: tuple[str, ...]) -> dict[str, int]:
    """Fill the department databases and remember them, so later waves reach them too; the connection
    profile then points each department at the database just loaded."""
    from sandbox import profile

    counts = dbload.load(settings, target, departments)
    state = store.read_state(settings)
    databases = state.setdefault("databases", {})
    for department in departments:
        databases[department] = sorted(set(databases.get(department, [])) | {target})
        state.setdefault("serving", {})[department] = target
    store.write_state(settings, state)
    profile.write(settings)
    return counts


def advance(settings: SandboxSettings) -> int:
    """Apply the next wave everywhere: databases loaded so far, the inbox (new drops), and the APIs.

    The APIs watch ``state.json`` and reload by themselves, so the state is written last: a reader
    never sees the new wave before the databases and files hold it.
    """
    state = store.read_state(settings)
    if state["wave"] >= store.LAST_WAVE:
        raise ConfigError(f"the sandbox is already at its last wave ({store.LAST_WAVE})")
    wave = state["wave"] + 1
    databases = state.get("databases", {})
    for target in sorted({t for targets in databases.values() for t in targets}):
        dbload.apply_wave(settings, target, tuple(d for d, ts in databases.items() if target in ts), wave)
    where = store.paths(settings)
    where.inbox.mkdir(parents=True, exist_ok=True)
    for file in sorted(where.pending.glob("*")):
        shutil.move(file, where.inbox / file.name)
    store.write_state(settings, state | {"wave": wave})
    return wave

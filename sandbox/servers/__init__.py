"""The department HTTP systems of the sandbox, found by module: every module here that defines ``API``
(an :class:`Api`) is served on its own port by ``xgate sandbox serve``, and its connections go into the
connection profile. A new department's API is a new module, nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sandbox import store
from sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sandbox.servers.control import Control


@dataclass(frozen=True)
class Api:
    name: str
    port: int  # default; XGATE_SANDBOX_PORTS__<NAME> overrides
    app: Callable[[SandboxSettings, Control], FastAPI]
    root: str = ""  # path of the API under the server (``/fhir``)
    # connection name -> its XGATE_CONNECTIONS__ fields, given the API's root URL and the sandbox
    connections: Callable[[str, SandboxSettings], dict[str, dict[str, str]]] | None = None

    def url(self, settings: SandboxSettings) -> str:
        return f"http://{settings.host}:{settings.ports.get(self.name, self.port)}{self.root}"

    def profile(self, settings: SandboxSettings) -> dict[str, dict[str, str]]:
        """The connections a client needs for this API; by default one, with the sandbox's bearer token."""
        if self.connections is not None:
            return self.connections(self.url(settings), settings)
        return {self.name: {"url": self.url(settings), "token": store.ensure_token(settings)}}


@cache
def apis() -> dict[str, Api]:
    found = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        api = getattr(importlib.import_module(f"{__name__}.{module}"), "API", None)
        if isinstance(api, Api):
            found[api.name] = api
    return found

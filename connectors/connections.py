"""Connections by name: from the settings (environment) when configured, else the local sandbox.

Credentials travel only inside :class:`~xgate.settings.Connection` (a ``SecretStr`` token), and
:func:`describe` is the only way a connection is shown: URL without password or token.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from xgate.settings import Connection, Settings


def _sandbox_default(name: str, settings: Settings) -> Connection | None:
    from pydantic import SecretStr

    from sandbox.store import ensure_token, paths

    host = settings.sandbox_host
    if name == "telecom":
        return Connection(url=f"http://{host}:{settings.telecom_port}", token=SecretStr(ensure_token(settings)))
    if name == "health":
        return Connection(url=f"http://{host}:{settings.health_port}/fhir", token=SecretStr(ensure_token(settings)))
    if name in ("civil", "housing"):
        return Connection(url=settings.sqlite_url(name))
    if name == "housing_inbox":
        return Connection(url=str(paths(settings).inbox))
    return None


def resolve(name: str, settings: Settings) -> Connection:
    from xgate.errors import ConfigError

    connection = settings.connections.get(name) or _sandbox_default(name, settings)
    if connection is None:
        raise ConfigError(f"no connection {name!r}: set XGATE_CONNECTIONS__{name.upper()}__URL")
    return connection


def describe(connection: Connection) -> str:
    """The connection as it may appear in logs and errors: never a password or token."""
    parts = urlsplit(connection.url)
    if parts.password is None:
        return connection.url
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}" if parts.username else host))

"""Connections by name, from exactly two places: the settings (``XGATE_CONNECTIONS__<NAME>__URL`` and its
credentials, in the environment, ``.env`` or the connection profile) or, inside Airflow, the Airflow
connection ``xgate_<name>``. The code knows no department and no default address: a connection nobody
configured is a configuration error that says how to configure it.

An Airflow connection maps as: ``host`` (or ``extra.url``) is the URL, ``login`` the username,
``password`` the password (and the token unless ``extra.token`` is set), ``extra`` may carry ``token``,
``cert``, ``key`` and ``ca``. Credentials travel only inside :class:`~xgate.settings.Connection`
(``SecretStr``), and :func:`describe` is the only way a connection is shown: URL without password or token.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

from xgate.errors import ConfigError
from xgate.settings import Connection, Settings


def airflow_connection(conn_id: str) -> object | None:
    """The Airflow connection ``conn_id``, when running inside Airflow (a task or the DAG processor); else None."""
    if "airflow.sdk" not in sys.modules:  # the CLI never loads Airflow (seconds of imports) to look
        return None
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _from_airflow(name: str) -> Connection | None:
    """The Airflow connection ``xgate_<name>`` as a :class:`Connection`."""
    found = airflow_connection(f"xgate_{name}")
    if found is None:
        return None
    extra = found.extra_dejson
    url = extra.get("url") or found.host or ""
    if "://" not in url:
        raise ConfigError(f"Airflow connection xgate_{name}: its host (or extra 'url') must be a full URL")
    return Connection(
        url=url,
        token=extra.get("token") or found.password,
        username=found.login,
        password=found.password,
        **{k: extra[k] for k in ("cert", "key", "ca") if extra.get(k)},
    )


def resolve(name: str, settings: Settings) -> Connection:
    connection = settings.connections.get(name) or _from_airflow(name)
    if connection is None:
        raise ConfigError(
            f"no connection {name!r}: set XGATE_CONNECTIONS__{name.upper()}__URL (and its credentials), "
            f"or an Airflow connection xgate_{name}"
        )
    return connection


def describe(connection: Connection) -> str:
    """The connection as it may appear in logs and errors: never a password or token."""
    parts = urlsplit(connection.url)
    if parts.password is None:
        return connection.url
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}" if parts.username else host))

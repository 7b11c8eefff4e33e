"""How a REST or FHIR source authenticates: the kind is declared with the source, the secrets come from
its connection (settings or an Airflow connection), never from a declaration or a DAG.

Kinds, as dlt names them: ``bearer`` (token), ``api_key`` (token in a header or the query),
``http_basic`` (username and password), ``oauth2_client_credentials`` (username and password are the
client id and secret; the access token is fetched, cached until it expires, and fetched again once
if the API answers 401), ``client_certificate`` (mutual TLS only), ``none``. A connection's certificate
and key are presented whenever they are set, whatever the kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from xgate.errors import ConfigError
from xgate.settings import Connection

if TYPE_CHECKING:
    import requests


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase | None:
        return None


def _need(connection: Connection, name: str, *fields: str) -> list[str]:
    """The connection's values for ``fields``; a missing one is a setting to fix, named without its value."""
    values = []
    for field in fields:
        value = getattr(connection, field)
        if value is None:
            raise ConfigError(
                f"connection {name!r} has no {field}: set XGATE_CONNECTIONS__{name.upper()}__{field.upper()}"
            )
        values.append(value.get_secret_value() if isinstance(value, SecretStr) else str(value))
    return values


class NoAuth(_Auth):
    type: Literal["none"]


class ClientCertificate(_Auth):
    """Mutual TLS alone: the connection's ``cert`` and ``key`` identify us."""

    type: Literal["client_certificate"]

    def build(self, connection: Connection, name: str) -> None:
        _need(connection, name, "cert", "key")


class Bearer(_Auth):
    type: Literal["bearer"] = "bearer"

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        from connectors.http_auth import Header

        return Header("Authorization", "Bearer " + _need(connection, name, "token")[0])


class ApiKey(_Auth):
    type: Literal["api_key"]
    name: str = "X-API-Key"
    location: Literal["header", "query"] = "header"

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        from connectors.http_auth import Header, Query

        [key] = _need(connection, name, "token")
        return Header(self.name, key) if self.location == "header" else Query(self.name, key)


class HttpBasic(_Auth):
    type: Literal["http_basic"]

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        from requests.auth import HTTPBasicAuth

        return HTTPBasicAuth(*_need(connection, name, "username", "password"))


class OAuth2ClientCredentials(_Auth):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="token endpoint, absolute or relative to the connection URL")
    scopes: tuple[str, ...] = ()
    client_auth: Literal["basic", "body"] = Field("basic", description="client id and secret as HTTP basic or form")

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        from connectors.http_auth import ClientCredentialsGrant

        client_id, secret = _need(connection, name, "username", "password")
        token_url = urljoin(connection.url.rstrip("/") + "/", self.token_url.lstrip("/"))
        return ClientCredentialsGrant(self, token_url, client_id, secret)


Auth = Annotated[
    NoAuth | ClientCertificate | Bearer | ApiKey | HttpBasic | OAuth2ClientCredentials, Field(discriminator="type")
]

"""How a REST or FHIR source authenticates: the kind is declared with the source, the secrets come from
its connection (settings or an Airflow connection), never from a declaration or a DAG.

Kinds, as dlt names them: ``bearer`` (token), ``api_key`` (token in a header or the query),
``http_basic`` (username and password), ``oauth2_client_credentials`` (username and password are the
client id and secret; the access token is fetched, cached until it expires, and fetched again once
if the API answers 401), ``client_certificate`` (mutual TLS only), ``none``. A connection's certificate
and key are presented whenever they are set, whatever the kind.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Literal
from urllib.parse import urljoin

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from xgate.errors import ConfigError, SourceRefused, SourceUnavailable
from xgate.settings import Connection


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
        return _Header("Authorization", "Bearer " + _need(connection, name, "token")[0])


class ApiKey(_Auth):
    type: Literal["api_key"]
    name: str = "X-API-Key"
    location: Literal["header", "query"] = "header"

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        [key] = _need(connection, name, "token")
        return _Header(self.name, key) if self.location == "header" else _Query(self.name, key)


class HttpBasic(_Auth):
    type: Literal["http_basic"]

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        return requests.auth.HTTPBasicAuth(*_need(connection, name, "username", "password"))


class OAuth2ClientCredentials(_Auth):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="token endpoint, absolute or relative to the connection URL")
    scopes: tuple[str, ...] = ()
    client_auth: Literal["basic", "body"] = Field("basic", description="client id and secret as HTTP basic or form")

    def build(self, connection: Connection, name: str) -> requests.auth.AuthBase:
        client_id, secret = _need(connection, name, "username", "password")
        return _OAuth2(self, urljoin(connection.url.rstrip("/") + "/", self.token_url.lstrip("/")), client_id, secret)


Auth = Annotated[
    NoAuth | ClientCertificate | Bearer | ApiKey | HttpBasic | OAuth2ClientCredentials, Field(discriminator="type")
]


class _Header(requests.auth.AuthBase):
    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.value
        return request


class _Query(_Header):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.prepare_url(request.url, {self.header: self.value})
        return request


class _OAuth2(requests.auth.AuthBase):
    """Client-credentials grant (RFC 6749 4.4): one token per source run, renewed before it expires."""

    def __init__(self, spec: OAuth2ClientCredentials, token_url: str, client_id: str, secret: str) -> None:
        self.spec, self.token_url, self.client_id, self.secret = spec, token_url, client_id, secret
        self.requests_args: dict = {"timeout": (5.0, 30.0)}  # the client sets its TLS settings and timeouts here
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    def _access_token(self, renew: bool = False) -> str:
        with self._lock:
            if renew or time.monotonic() >= self._expires:
                self._token, self._expires = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"} | (
            {"scope": " ".join(self.spec.scopes)} if self.spec.scopes else {}
        )
        basic = (self.client_id, self.secret) if self.spec.client_auth == "basic" else None
        if basic is None:
            form |= {"client_id": self.client_id, "client_secret": self.secret}
        try:
            reply = requests.post(self.token_url, data=form, auth=basic, **self.requests_args)
        except requests.RequestException as exc:
            raise SourceUnavailable(f"OAuth2 token endpoint {self.token_url}: {type(exc).__name__}") from None
        if reply.status_code >= 500 or reply.status_code == 429:
            raise SourceUnavailable(f"OAuth2 token endpoint {self.token_url}: HTTP {reply.status_code} (retriable)")
        body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
        if reply.status_code != 200 or "access_token" not in body:
            reason = body.get("error", "") if isinstance(body, dict) else ""
            raise SourceRefused(
                f"OAuth2 token endpoint {self.token_url} refused the client credentials: HTTP {reply.status_code} "
                f"{reason}".rstrip()
                + " (not retried)"
            )
        return body["access_token"], time.monotonic() + max(0.0, float(body.get("expires_in", 3600)) - 30)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self._access_token()
        request.register_hook("response", self._renew_on_401)
        return request

    def _renew_on_401(self, reply: requests.Response, **send: object) -> requests.Response:
        """A token revoked or expired early: fetch a new one and send the request once more."""
        if reply.status_code != 401 or getattr(reply.request, "renewed", False):
            return reply
        retry = reply.request.copy()
        retry.renewed = True
        retry.headers["Authorization"] = "Bearer " + self._access_token(renew=True)
        reply.close()
        again = reply.connection.send(retry, **send)
        again.history.append(reply)
        again.request = retry
        return again

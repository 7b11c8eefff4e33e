"""The request side of a source's authentication: what :mod:`connectors.auth` builds once a source runs.

Kept apart from the declarations so that reading one (``xgate validate``, DAG parsing) does not import
requests.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import requests

from xgate.errors import SourceRefused, SourceUnavailable

if TYPE_CHECKING:
    from connectors.auth import OAuth2ClientCredentials


class Header(requests.auth.AuthBase):
    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.value
        return request


class Query(Header):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.prepare_url(request.url, {self.header: self.value})
        return request


class ClientCredentialsGrant(requests.auth.AuthBase):
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

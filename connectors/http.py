"""The one HTTP client every REST and FHIR source shares: auth, TLS, timeouts, retries, whole pages only.

urllib3's ``Retry`` handles what happens before a body arrives: connection errors, read timeouts,
429/5xx answers (honouring Retry-After), with exponential backoff and jitter. On top, a body that is
cut short or is not valid JSON is fetched again: half a page is never kept. What a source refuses is
never retried: 401 (credentials), 403 (permission), 404 (path) and other 4xx answers raise
:class:`SourceRefused` at once, with the reason the source gave (an OperationOutcome's issues, an
``error`` field). Every message names source, stream, page and cause, never a token or key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.connections import describe
from connectors.paging import Page
from xgate.errors import SourceRefused, SourceUnavailable
from xgate.settings import Connection, Settings

T = TypeVar("T")
RETRY_STATUSES = (429, 500, 502, 503, 504)
BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    orjson.JSONDecodeError,
)
REFUSED = {401: "credentials refused", 403: "not allowed to read this", 404: "no such path or resource"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def outcome_issues(outcome: dict, severities: tuple[str, ...] = ()) -> str:
    """A FHIR OperationOutcome's issues (of the given severities, or all), as one line."""
    said = []
    for issue in outcome.get("issue") or []:
        if severities and issue.get("severity") not in severities:
            continue
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text", "")
        said.append(f"{issue.get('severity', '?')} {issue.get('code', '?')}: {text}")
    return "; ".join(said)


def reason(reply: requests.Response) -> str:
    """What the source said about an error, briefly: a FHIR OperationOutcome's issues, or an ``error`` field."""
    try:
        body = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    if body.get("resourceType") == "OperationOutcome":
        return ("OperationOutcome " + outcome_issues(body))[:300]
    said = body.get("error_description") or body.get("error") or body.get("message") or ""
    return str(said)[:200] if isinstance(said, str | int) else ""


class HttpClient:
    def __init__(
        self,
        connection: Connection,
        settings: Settings,
        where: str,
        auth: requests.auth.AuthBase | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base = connection.url.rstrip("/")
        self.where = where
        self.retries = settings.http_retries
        self.backoff = settings.http_backoff
        self.timeout = (5.0, settings.http_timeout)
        retry = Retry(
            total=self.retries,
            backoff_factor=self.backoff,
            backoff_jitter=self.backoff,
            backoff_max=60,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["Accept"] = "application/json, application/fhir+json"
        self.session.headers.update(headers or {})
        # TLS settings go with every request: a session's own ``verify`` loses to REQUESTS_CA_BUNDLE
        cert = str(connection.cert) if connection.cert else None
        self.tls = {
            "cert": (cert, str(connection.key)) if cert and connection.key else cert,
            "verify": str(connection.ca) if connection.ca else True,
        }
        self.session.auth = auth
        if hasattr(auth, "requests_args"):  # an OAuth2 token endpoint: same TLS settings and timeouts
            auth.requests_args = self.tls | {"timeout": self.timeout}
        self.shown = describe(connection)

    def url(self, path_or_url: str, page: int) -> str:
        url = path_or_url if "://" in path_or_url else f"{self.base}{path_or_url}"
        if _origin(url) != _origin(self.base):  # a link elsewhere never gets our credentials
            raise SourceRefused(
                f"{self.where} page {page}: the source sent a link to {_origin(url)}, "
                f"outside {_origin(self.base)}; refusing to follow it"
            )
        return url

    def get(self, path_or_url: str, params: Mapping | None = None, page: int = 1) -> Page:
        """One page of JSON, whole: fetched again while the body arrives cut short or malformed."""
        reply, body = self.fetch(path_or_url, params, page, lambda r: orjson.loads(r.content) if r.content else None)
        return Page(body, reply.headers, reply.links)

    def download(self, url: str, target: Path, page: int, headers: Mapping[str, str] | None = None) -> Path:
        """A file (bulk NDJSON) streamed to disk, whole or fetched again."""

        def save(reply: requests.Response) -> Path:
            with target.open("wb") as out:
                for block in reply.iter_content(1 << 20):
                    out.write(block)
            return target

        return self.fetch(url, None, page, save, headers=headers, stream=True)[1]

    def fetch(
        self,
        path_or_url: str,
        params: Mapping | None,
        page: int,
        parse: Callable[[requests.Response], T],
        method: str = "GET",
        **options: object,
    ) -> tuple[requests.Response, T]:
        url = self.url(path_or_url, page)
        cause = ""
        for attempt in range(self.retries + 1):
            try:
                with self.session.request(
                    method, url, params=params, timeout=self.timeout, **self.tls, **options
                ) as reply:
                    self._check(reply, page)
                    return reply, parse(reply)
            except BODY_ERRORS as exc:
                cause = (
                    "malformed or truncated JSON" if isinstance(exc, orjson.JSONDecodeError) else "connection broken"
                )
                time.sleep(self.backoff * 2**attempt)
            except requests.exceptions.SSLError as exc:
                raise SourceRefused(
                    f"{self.where} page {page}: TLS with {self.shown} failed ({_tls_reason(exc)}): check the "
                    "connection's cert, key and ca (not retried)"
                ) from None
            except requests.exceptions.RequestException as exc:  # urllib3 has already retried these
                raise SourceUnavailable(
                    f"{self.where} page {page}: {_failure(exc)} ({type(exc).__name__}) from {self.shown} "
                    f"after {self.retries} retries"
                ) from None
        raise SourceUnavailable(f"{self.where} page {page}: {cause} from {self.shown} after {self.retries} retries")

    def _check(self, reply: requests.Response, page: int) -> None:
        if reply.status_code < 400:
            return
        status = f"HTTP {reply.status_code} {_phrase(reply.status_code)}".rstrip()
        said = reason(reply)
        said = f": {said}" if said else ""
        if reply.status_code in RETRY_STATUSES:
            raise SourceUnavailable(
                f"{self.where} page {page}: {status} from {self.shown}{said}, still after {self.retries} retries"
            )
        meaning = REFUSED.get(reply.status_code, "request rejected")
        raise SourceRefused(f"{self.where} page {page}: {status} from {self.shown} ({meaning}){said}; not retried")

    def close(self) -> None:
        self.session.close()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _failure(exc: requests.exceptions.RequestException) -> str:
    """What went wrong on the wire, in words."""
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    return "connection dropped"


def _tls_reason(exc: requests.exceptions.SSLError) -> str:
    text = str(exc)
    for known in (
        "CERTIFICATE_VERIFY_FAILED",
        "CERTIFICATE_REQUIRED",
        "UNKNOWN_CA",
        "BAD_CERTIFICATE",
        "WRONG_VERSION",
    ):
        if known.lower() in text.lower():
            return known.lower().replace("_", " ")
    return "handshake failed"

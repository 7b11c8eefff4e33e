"""The one HTTP client every REST and FHIR source shares: auth, timeouts, retries, whole pages only.

urllib3's ``Retry`` handles what happens before a body arrives: connection errors, read timeouts,
429/5xx answers (honouring Retry-After), with exponential backoff and jitter. On top, a body that is
cut short or is not valid JSON is fetched again: half a page is never kept. When retries run out the
error names source, stream, page and cause, never the token.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.connections import describe
from xgate.errors import RetriableError, SourceUnavailable
from xgate.settings import Connection, Settings

RETRY_STATUSES = (429, 500, 502, 503, 504)
BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    orjson.JSONDecodeError,
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class HttpClient:
    def __init__(self, connection: Connection, settings: Settings, where: str) -> None:
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
        if connection.token is not None:
            self.session.headers["Authorization"] = f"Bearer {connection.token.get_secret_value()}"
        self.shown = describe(connection)

    def get_json(self, path_or_url: str, params: Any = None, page: int = 1) -> dict:
        url = path_or_url if "://" in path_or_url else f"{self.base}{path_or_url}"
        if _origin(url) != _origin(self.base):  # a next link elsewhere never gets our token
            raise SourceUnavailable(
                f"{self.where} page {page}: the source sent a link to {_origin(url)}, "
                f"outside {_origin(self.base)}; refusing to follow it"
            )
        cause = ""
        for attempt in range(self.retries + 1):
            try:
                reply = self.session.get(url, params=params, timeout=self.timeout)
                self._refuse_errors(reply, page)
                return orjson.loads(reply.content)
            except BODY_ERRORS as exc:
                cause = (
                    "malformed or truncated JSON" if isinstance(exc, orjson.JSONDecodeError) else "connection broken"
                )
                time.sleep(self.backoff * 2**attempt)
            except requests.exceptions.RequestException as exc:  # urllib3 has already retried these
                raise RetriableError(
                    f"{self.where} page {page}: {type(exc).__name__} from {self.shown} after {self.retries} retries"
                ) from None
        raise RetriableError(f"{self.where} page {page}: {cause} from {self.shown} after {self.retries} retries")

    def _refuse_errors(self, reply: requests.Response, page: int) -> None:
        if reply.status_code in (401, 403):
            raise SourceUnavailable(
                f"{self.where} page {page}: HTTP {reply.status_code} from {self.shown}: check the connection's token"
            )
        if reply.status_code >= 400:
            raise RetriableError(
                f"{self.where} page {page}: HTTP {reply.status_code} from {self.shown} after {self.retries} retries"
            )

    def close(self) -> None:
        self.session.close()

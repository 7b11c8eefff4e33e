"""A small real HTTP API on 127.0.0.1 that pages and authenticates each way public APIs do, for the
paginator and auth tests: offset/limit, numbered pages, next URL in the body, Link header, cursor in a
header, a single page; HTTP basic, an API key in the query, a client certificate (HTTPS)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

RECORDS = [
    {
        "id": f"r{i:03d}",
        "updated": (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)).isoformat(),
        "detail": {"value": i, "tags": ["a", "b"]},
    }
    for i in range(23)
]
USER, PASSWORD, KEY = "etl", "s3cret-pw", "k3y-in-query"


class Api:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append(self.path)
                api.headers.append(dict(self.headers))
                status, body, headers = api.answer(self)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: BaseHTTPRequestHandler) -> tuple[int, object, dict[str, str]]:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        auth = request.headers.get("Authorization", "")
        if (
            parts.path.startswith("/basic/")
            and auth != "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        ):
            return 401, {"error": "who are you"}, {"WWW-Authenticate": "Basic"}
        if parts.path.startswith("/key/") and query.get("api_key") != KEY:
            return 403, {"message": "bad key"}, {}
        rows = [r for r in RECORDS if "since" not in query or r["updated"] >= _epoch(query["since"])]
        size = int(query.get("limit", 5))
        kind = parts.path.rsplit("/", 1)[-1]
        if kind == "offset":
            start = int(query.get("offset", 0))
            return 200, {"items": rows[start : start + size], "total": len(rows)}, {}
        if kind == "pages":
            start = (int(query["p"]) - 1) * size
            return 200, {"result": {"list": rows[start : start + size]}}, {}
        start = int(query.get("at", 0))
        page, more = rows[start : start + size], start + size < len(rows)
        nxt = f"{self.url}{parts.path}?{urlencode(query | {'at': start + size})}" if more else None
        if kind == "json_link":
            return 200, {"data": page, "links": {"next": nxt}}, {}
        if kind == "link":
            return 200, page, {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
        if kind == "header_cursor":
            return 200, page, {"X-Next": str(start + size)} if more else {}
        return 200, {"rows": rows}, {}  # single page

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _epoch(value: str) -> str:
    return datetime.fromtimestamp(int(value), UTC).isoformat()

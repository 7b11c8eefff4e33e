"""The browser's session: a signed cookie holding the sign-in token, the case picked and a CSRF token.

The cookie is HttpOnly and SameSite=Strict, MACed with the access key (:func:`access.store.mac`, as sign-in
tokens are) and carries its own expiry; inside is a sign-in token like those ``xgate login`` issues, so a
changed password, an expired sign-in or ``xgate logout`` ends the session too, and signing out ends that
token on the server (a copy of the cookie reads no more). It is signed, not encrypted: it holds no personal
value (a case number, a purpose, a token), and look-ups are kept server-side behind opaque references. The
token in it is readable by whoever holds the cookie, but it gives them nothing the cookie does not: it is
marked for the web alone (refused at the command line, so it cannot slip past the web's rate limit), and
the cookie is already the bearer of the session.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field

from access import store
from xgate.settings import Settings

COOKIE = "xgate_session"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    expires: int = 0
    token: str | None = None
    case: str | None = None
    purpose: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def dump(settings: Settings, session: Session) -> str:
    body = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
    return f"{body}.{store.mac(settings, 'web-session', body.encode())}"


def load(settings: Settings, raw: str | None) -> Session | None:
    """The session a cookie holds, if its MAC is right and it has not expired; else None."""
    if not raw:
        return None
    body, _, signature = raw.partition(".")
    if not hmac.compare_digest(signature, store.mac(settings, "web-session", body.encode())):
        return None
    try:
        session = Session(**json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    except (ValueError, TypeError):
        return None
    return session if session.expires > time.time() else None


def fresh(settings: Settings) -> Session:
    return Session(expires=int(time.time() + settings.token_hours * 3600))


class RateLimit:
    """At most ``per_minute`` events per key in any sliding minute (one process: uvicorn runs one)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute, self._seen, self._lock = per_minute, {}, threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return False
            seen.append(now)
            return True


@dataclass(frozen=True)
class Lookup:
    user: str
    kind: str  # person, phone, address, quarantine
    value: str


class Lookups:
    """Look-ups behind opaque references, so no ID number, phone or address is ever in a URL or a log line;
    a reference is its user's alone. The newest few thousand are kept (in memory)."""

    def __init__(self, most: int = 5000) -> None:
        self.most, self._refs, self._lock = most, OrderedDict(), threading.Lock()

    def add(self, lookup: Lookup) -> str:
        ref = secrets.token_urlsafe(12)
        with self._lock:
            self._refs[ref] = lookup
            while len(self._refs) > self.most:
                self._refs.popitem(last=False)
        return ref

    def get(self, ref: str, user: str) -> Lookup | None:
        with self._lock:
            found = self._refs.get(ref)
        return found if found is not None and found.user == user else None

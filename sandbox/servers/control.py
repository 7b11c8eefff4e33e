"""What makes a sandbox API behave like a real one under stress: auth, a rate limit, injected faults.

Each API checks its own credentials (``check``: the sandbox's bearer token by default, an API key, an
OAuth2 access token ...); the admin routes always take the sandbox's bearer token. Faults are switched
on through ``/_sandbox/faults`` either as a script, one fault per request in order (exact, for tests),
or as rates with a seed (for soak runs). Kinds: ``500``, ``503``, ``429`` (with Retry-After), ``400``,
``401``, ``403``, ``404`` (an error body the way the API writes them: JSON, or a FHIR OperationOutcome),
``slow`` (answers after the client's timeout), ``truncate`` (half a body, invalid JSON), ``drop`` (the
connection closes mid-body).
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

STATUS_FAULTS = ("500", "503", "429", "400", "401", "403", "404")
FAULT_KINDS = (*STATUS_FAULTS, "slow", "truncate", "drop")
ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 429: "throttled"}


class FaultPlan(BaseModel):
    script: list[str] = Field(default_factory=list, description="one fault per request, in order; 'ok' passes")
    rates: dict[str, float] = Field(default_factory=dict, description="fault kind -> probability per request")
    seed: int = 0
    slow_seconds: float = 3.0
    rate_limit: float | None = Field(None, gt=0, description="requests per second; None keeps the current one")


@dataclass
class Control:
    token: str  # the sandbox's bearer token: admin routes, and the API's default credential
    rate_limit: float
    check: Callable[[Request], bool] | None = None  # the API's own credential check; None: the bearer token
    fhir: bool = False  # errors as FHIR OperationOutcome resources
    plan: FaultPlan = field(default_factory=FaultPlan)
    served: Counter = field(default_factory=Counter)
    _random: random.Random = field(default_factory=random.Random)
    _tokens: float = 0.0
    _last: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bearer(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return given.startswith("Bearer ") and secrets.compare_digest(given[7:], self.token)

    def allowed(self, request: Request) -> bool:
        """The request carries this API's credentials."""
        return (self.check or self.bearer)(request)

    def admin(self, request: Request) -> None:
        if not self.bearer(request):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    def problem(self, status: int, text: str, headers: dict | None = None) -> JSONResponse:
        """An error answer the way this API writes them."""
        if self.fhir:
            issue = {"severity": "error", "code": ISSUE_CODES.get(status, "exception"), "diagnostics": text}
            body = {"resourceType": "OperationOutcome", "issue": [issue]}
            return JSONResponse(body, status, headers, media_type="application/fhir+json")
        return JSONResponse({"error": text}, status, headers)

    def configure(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)
            if plan.rate_limit:
                self.rate_limit = plan.rate_limit

    def next_fault(self) -> str | None:
        with self._lock:
            if self.plan.script:
                fault = self.plan.script.pop(0)
                return None if fault == "ok" else fault
            for kind, rate in sorted(self.plan.rates.items()):
                if self._random.random() < rate:
                    return kind
        return None

    def throttle(self) -> float:
        """Token bucket: 0 when the request may pass, else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            burst = max(1.0, self.rate_limit)
            self._tokens = min(burst, self._tokens + (now - self._last) * self.rate_limit)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate_limit

    async def guard(self, request: Request) -> Response | None:
        """Auth, rate limit and pre-body faults; a response here replaces the real answer."""
        if not self.allowed(request):
            self.served["401"] += 1
            return self.problem(401, "missing or invalid credentials", {"WWW-Authenticate": "Bearer"})
        wait = self.throttle()
        if wait:
            self.served["429"] += 1
            return self.problem(429, "rate limited", {"Retry-After": str(max(1, math.ceil(wait)))})
        fault = self.next_fault()
        request.state.fault = fault
        if fault in STATUS_FAULTS:
            self.served[fault] += 1
            headers = {"Retry-After": "1"} if fault in ("429", "503") else {}
            return self.problem(int(fault), f"injected {fault}", headers)
        if fault == "slow":
            await asyncio.sleep(self.plan.slow_seconds)
        self.served["ok" if fault is None else fault] += 1
        return None

    def respond(self, request: Request, body: bytes, media_type: str, headers: dict | None = None) -> Response:
        fault = getattr(request.state, "fault", None)
        if fault == "truncate":
            return Response(body[: len(body) // 2], media_type=media_type, headers=headers)
        if fault == "drop":
            return DroppedResponse(body, media_type=media_type, headers=headers)
        return Response(body, media_type=media_type, headers=headers)


class DroppedResponse(Response):
    """Announces the whole body, sends part of it, then lets the connection close."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 3], "more_body": True})
        raise ConnectionAbortedError("sandbox dropped the connection on purpose")

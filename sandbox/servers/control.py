"""What makes a sandbox API behave like a real one under stress: auth, a rate limit, injected faults.

Faults are switched on through ``/_sandbox/faults`` (bearer-protected) either as a script, one fault per
request in order (exact, for tests), or as rates with a seed (for soak runs). Kinds: ``500``, ``503``,
``429``, ``slow`` (answers after the client's timeout), ``truncate`` (half a body, invalid JSON),
``drop`` (the connection closes mid-body).
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

FAULT_KINDS = ("500", "503", "429", "slow", "truncate", "drop")


class FaultPlan(BaseModel):
    script: list[str] = Field(default_factory=list, description="one fault per request, in order; 'ok' passes")
    rates: dict[str, float] = Field(default_factory=dict, description="fault kind -> probability per request")
    seed: int = 0
    slow_seconds: float = 3.0
    rate_limit: float | None = Field(None, gt=0, description="requests per second; None keeps the current one")


@dataclass
class Control:
    token: str
    rate_limit: float
    plan: FaultPlan = field(default_factory=FaultPlan)
    served: Counter = field(default_factory=Counter)
    _random: random.Random = field(default_factory=random.Random)
    _tokens: float = 0.0
    _last: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not (given.startswith("Bearer ") and secrets.compare_digest(given[7:], self.token)):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

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
        self.authorize(request)
        wait = self.throttle()
        if wait:
            self.served["429"] += 1
            return JSONResponse({"error": "rate limited"}, 429, {"Retry-After": str(max(1, math.ceil(wait)))})
        fault = self.next_fault()
        request.state.fault = fault
        if fault in ("500", "503", "429"):
            self.served[fault] += 1
            headers = {"Retry-After": "1"} if fault != "500" else {}
            return JSONResponse({"error": f"injected {fault}"}, int(fault), headers)
        if fault == "slow":
            await asyncio.sleep(self.plan.slow_seconds)
        self.served["ok" if fault is None else fault] += 1
        return None

    def respond(self, request: Request, body: bytes, media_type: str) -> Response:
        fault = getattr(request.state, "fault", None)
        if fault == "truncate":
            return Response(body[: len(body) // 2], media_type=media_type)
        if fault == "drop":
            return DroppedResponse(body, media_type=media_type)
        return Response(body, media_type=media_type)


class DroppedResponse(Response):
    """Announces the whole body, sends part of it, then lets the connection close."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 3], "more_body": True})
        raise ConnectionAbortedError("sandbox dropped the connection on purpose")

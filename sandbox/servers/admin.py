"""Routes every sandbox API shares: liveness and the fault switch."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.servers.control import Control, FaultPlan


def admin_router(control: Control) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    @router.post("/_sandbox/faults")
    def set_faults(plan: FaultPlan, request: Request) -> dict:
        control.admin(request)
        control.configure(plan)
        return {"script": plan.script, "rates": plan.rates, "rate_limit": control.rate_limit}

    @router.delete("/_sandbox/faults")
    def clear_faults(request: Request) -> dict:
        control.admin(request)
        control.configure(FaultPlan())
        return {"cleared": True}

    @router.get("/_sandbox/stats")
    def stats(request: Request) -> dict:
        control.admin(request)
        return dict(control.served)

    return router

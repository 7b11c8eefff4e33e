"""Auditors', admins' and engineers' pages: data quality against the 95% target and the quarantined rows
behind a failing rule (masked, read through the access layer), the read audit with its verification,
grant requests to decide, and each source's last batches.

Each page is the act its CLI twin is (``xgate report``, ``audit show``, ``audit who-read``, ``grant list``,
``batches``): allowed by role, and recorded in the audit where the CLI records it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from access import acts, audit, grants, lookups, users
from access.reader import Reader
from access.verify import verify
from contracts import report
from web.app import Checked, Signed, page, settings_of

router = APIRouter()


@router.get("/auditor")
def quality(request: Request, user: Signed) -> Response:
    """Each dataset's pass rate over its batches against the target, per batch as a trend; the rules failing most."""
    users.authorise(user, "report")
    settings = settings_of(request)
    latest: dict[str, dict] = {}
    totals: dict[str, list[int]] = {}
    trend: dict[str, list[float]] = {}
    for batch in report.validations(settings):
        latest[batch["dataset"]] = batch
        counted = totals.setdefault(batch["dataset"], [0, 0])
        counted[0], counted[1] = counted[0] + batch["rows_in"], counted[1] + batch["rows_passed"]
        if batch["rows_in"]:
            trend.setdefault(batch["dataset"], []).append(batch["rows_passed"] / batch["rows_in"])
    rows = [
        {
            "dataset": d,
            "batch": b["batch_id"],
            "batches": len(trend.get(d, [])),
            "rows": totals[d][0],
            "passed": totals[d][1],
            "rate": totals[d][1] / totals[d][0] if totals[d][0] else None,
            "trend": trend.get(d, []),
            "fresh": b["freshness_ok"],
            "held": b["held"],
        }
        for d, b in sorted(latest.items())
    ]
    return page(request, "quality.html", rows=rows, target=report.TARGET, rules=report.failing_rules(settings, most=20))


@router.get("/auditor/rules/{rule_key}")
def rule_rows(request: Request, user: Signed, rule_key: str) -> Response:
    """A rule's quarantined rows and findings, masked by their own fields, read (and recorded) as any read."""
    reader = Reader(settings_of(request))
    try:
        shown = reader.read(lookups.quarantine(user, rule_key))
    finally:
        reader.close()
    fragment = request.headers.get("HX-Request") == "true"
    return page(request, "rule_rows.html" if fragment else "rule.html", rule=rule_key, shown=shown, most=50)


@router.get("/auditor/audit")
def audit_page(
    request: Request, user: Signed, who: Annotated[str, Query()] = "", case: Annotated[str, Query()] = ""
) -> Response:
    """The newest reads, filtered by user and case, with the chain's verification now."""
    settings = settings_of(request)
    with acts.acting(settings, user, "audit show", f"audit show (web: user {who or '*'}, case {case or '*'})"):
        found = audit.reads(settings)
    verdict = verify(settings)
    found = [r for r in found if (not who or r["user"] == who) and (not case or r["case"] == case)][-200:]
    return page(request, "audit.html", reads=list(reversed(found)), verdict=verdict, who=who, case=case, subject=None)


@router.post("/auditor/who-read", dependencies=[Checked])
def who_read(request: Request, user: Signed, id_number: Annotated[str, Form()]) -> Response:
    """Who read this person (posted: the ID number stays out of the URL), as ``xgate audit who-read``."""
    settings = settings_of(request)
    wanted = audit.subject_hash(settings, id_number)
    with acts.acting(settings, user, "audit who-read", f"audit who-read <id:{wanted}>"):
        found = [r for r in audit.who_read(settings, id_number) if not r["command"].startswith("audit")]
    for r in found:
        r["how"] = "named or shown" if wanted in r.get("subjects", ()) else "masked: one of the persons it may be"
    return page(request, "audit.html", reads=found, verdict=verify(settings), who="", case="", subject=True)


@router.get("/grants")
def grant_list(request: Request, user: Signed) -> Response:
    settings = settings_of(request)
    with acts.acting(settings, user, "grant list", "grant list"):
        found = grants.listed(settings, user)
    return page(request, "grants.html", grants=sorted(found, key=lambda g: g[0].requested_at, reverse=True),
                most=grants.MAX_DAYS)  # fmt: skip


@router.post("/grants/{grant_id}/approve", dependencies=[Checked])
def grant_approve(request: Request, user: Signed, grant_id: str, days: Annotated[int, Form()] = 30) -> Response:
    settings = settings_of(request)
    with acts.acting(settings, user, "grant approve", f"grant approve {grant_id} --days {days}"):
        grants.approve(settings, user, grant_id, days)
    return RedirectResponse("/grants", status_code=303)


@router.post("/grants/{grant_id}/deny", dependencies=[Checked])
def grant_deny(request: Request, user: Signed, grant_id: str, reason: Annotated[str, Form()] = "") -> Response:
    settings = settings_of(request)
    with acts.acting(settings, user, "grant deny", f"grant deny {grant_id} ({reason})"):
        grants.deny(settings, user, grant_id, reason)
    return RedirectResponse("/grants", status_code=303)


@router.get("/engineer")
def engineer(request: Request, user: Signed) -> Response:
    """Each dataset's last batches: rows in, passed, quarantined, status (held, rejected) and why."""
    from warehouse.batches import listing

    users.authorise(user, "batches")
    last: dict[str, list] = {}
    for batch in listing(settings_of(request), every=True):
        if len(last.setdefault(batch.dataset, [])) < 5:
            last[batch.dataset].append(batch)
    return page(request, "engineer.html", datasets=sorted(last.items()))

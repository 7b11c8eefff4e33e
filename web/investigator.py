"""Investigators' pages: pick or open a case, look a person up (by ID, name and birth date, phone or address),
see their timeline, go through the discrepancy lists row by row, add a case subject, export what is shown.

A look-up is posted (the value never goes into a URL), kept behind an opaque reference, and each time its
page is shown it is read again through :class:`access.reader.Reader` with the session's case and purpose,
exactly as ``xgate person|search|phone|address|discrepancy`` reads: refused without a case, masked, and
recorded. A discrepancy row opens the person behind its record the same way (posted, then a reference).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from access import acts, exports, grants, ledger, lookups
from access.reader import Reader
from access.users import Refused, User
from web import timeline
from web.app import Checked, Signed, page, session_of, settings_of
from web.session import Lookup
from xgate.settings import Settings

router = APIRouter()
KINDS = {"person": lookups.person, "phone": lookups.phone, "address": lookups.address}
TITLES = {
    "name": "Person by name and birth date",
    "record": "Person behind a record",
    "discrepancy": "Discrepancy list",
}
PEOPLE = ("person", "name", "record")  # kinds whose page is one person's records: they get a timeline
LISTS = {
    "shared.dead_but_registered": "registered residents health reports dead (needs the health grant)",
    "shared.dead_with_active_phone": "active phones of people health reports dead (needs the health grant)",
    "shared.tenant_not_registered": "tenants not registered where they rent",
    "shared.duplicate_registration": "people registered more than once",
    "shared.health_unknown_to_civil": "patients civil affairs does not know",
}


def _my_cases(request: Request, user: User) -> list[ledger.Case]:
    state = ledger.state(settings_of(request))
    return [c for c in state.cases.values() if user.name in c.members or user.role != "investigator"]


@router.get("/cases")
def cases(request: Request, user: Signed) -> Response:
    return page(request, "cases.html", cases=_my_cases(request, user))


@router.post("/cases/open", dependencies=[Checked])
def case_open(
    request: Request, user: Signed, number: Annotated[str, Form()], title: Annotated[str, Form()] = ""
) -> Response:
    settings = settings_of(request)
    with acts.acting(settings, user, "case open", f"case open {number}", number):
        grants.open_case(settings, user, number.strip(), title)
    session_of(request).case = number.strip()
    return RedirectResponse("/cases", status_code=303)


@router.post("/cases/pick", dependencies=[Checked])
def case_pick(
    request: Request, user: Signed, case: Annotated[str, Form()], purpose: Annotated[str, Form()] = ""
) -> Response:
    """The case and purpose every read from now on is made under (checked by the reader at each read)."""
    if case not in {c.number for c in _my_cases(request, user)}:
        raise Refused(f"{user.name} is not on case {case}")
    session_of(request).case, session_of(request).purpose = case, purpose.strip() or None
    return RedirectResponse("/search", status_code=303)


@router.get("/search")
def search_page(request: Request, user: Signed) -> Response:
    return page(request, "search.html")


@router.post("/search", dependencies=[Checked])
def search(request: Request, user: Signed, kind: Annotated[str, Form()], value: Annotated[str, Form()]) -> Response:
    if kind not in KINDS or not value.strip():
        return page(request, "search.html", 400, error="choose what to look up and give its value")
    return _looked_up(request, user, Lookup(user.name, kind, value.strip()), "search.html")


@router.post("/search/name", dependencies=[Checked])
def search_name(
    request: Request, user: Signed, name: Annotated[str, Form()] = "", born: Annotated[str, Form()] = ""
) -> Response:
    """Posted like every look-up; both values are needed, and the read (not this page) judges them, so a
    refusal is recorded in the audit like any."""
    if not name.strip() or not born.strip():
        return page(request, "search.html", 400, error="give both the full name and the full birth date")
    return _looked_up(request, user, Lookup(user.name, "name", f"{name.strip()}\n{born.strip()}"), "search.html")


def _looked_up(request: Request, user: User, lookup: Lookup, form: str) -> Response:
    """The look-up behind a new reference (its page reads it), within the per-minute limit of look-ups."""
    if not request.app.state.searches.allow(user.name):
        most = settings_of(request).web_searches
        return page(request, form, 429, error=f"too many look-ups: at most {most} a minute (XGATE_WEB_SEARCHES)",
                    lists=LISTS)  # fmt: skip
    ref = request.app.state.lookups.add(lookup)
    return RedirectResponse(f"/look/{ref}", status_code=303)


def _made(settings: Settings, user: User, found: Lookup, case: str | None, purpose: str | None) -> lookups.Call:
    if found.kind == "name":
        return lookups.search(settings, user, *found.value.split("\n", 1), case, purpose)
    if found.kind == "record":
        return lookups.record(user, *found.value.split("\n", 1), case, purpose)
    if found.kind == "discrepancy":
        return lookups.discrepancy(user, found.value, case, purpose)
    return KINDS[found.kind](user, found.value, case, purpose)


def _call(request: Request, user: User, ref: str) -> tuple[Lookup, lookups.Call]:
    found = request.app.state.lookups.get(ref, user.name)
    if found is None or found.kind not in (*KINDS, *TITLES):
        raise Refused("this look-up is not yours or has expired: look the person up again")
    session = session_of(request)
    return found, _made(settings_of(request), user, found, session.case, session.purpose)


@router.get("/discrepancies")
def discrepancies(request: Request, user: Signed) -> Response:
    """The discrepancy lists an investigator may go through under the case (each one a read when opened)."""
    return page(request, "discrepancies.html", lists=LISTS)


@router.post("/discrepancies", dependencies=[Checked])
def discrepancy(request: Request, user: Signed, view: Annotated[str, Form()]) -> Response:
    if view not in LISTS:
        return page(request, "discrepancies.html", 400, lists=LISTS, error="choose one of the lists")
    return _looked_up(request, user, Lookup(user.name, "discrepancy", view), "discrepancies.html")


@router.post("/look/{ref}/open", dependencies=[Checked])
def open_record(
    request: Request, user: Signed, ref: str, dataset: Annotated[str, Form()], key: Annotated[str, Form()]
) -> Response:
    """A row of a discrepancy list opened: the person behind its record, read (and recorded) as a look-up."""
    found, _ = _call(request, user, ref)
    if found.kind != "discrepancy" or dataset not in lookups.RECORD_DATASETS:
        raise Refused("a record is opened from a discrepancy list's row")
    return _looked_up(request, user, Lookup(user.name, "record", f"{dataset}\n{key.strip()}"), "discrepancies.html")


def _opens(found: Lookup, shown) -> list[tuple[str, str] | None]:
    """For each row of a discrepancy list, the record its drill-down opens (dataset, key), if the row names one."""
    if found.kind != "discrepancy" or not shown.sections:
        return []
    ((columns, rows),) = shown.sections.values()
    dataset, key = lookups.DISCREPANCY_RECORDS[found.value]
    at = {c: i for i, c in enumerate(columns)}
    if key not in at:
        return [None] * len(rows)
    return [((row[at[dataset]] if dataset in at else dataset), row[at[key]]) if row[at[key]] else None for row in rows]


@router.get("/look/{ref}")
def look(request: Request, user: Signed, ref: str) -> Response:
    found, call = _call(request, user, ref)
    settings = settings_of(request)
    reader = Reader(settings)
    title = TITLES.get(found.kind, found.kind.capitalize())
    try:
        shown = reader.read(call)
    except Refused as exc:
        return page(request, "look.html", 403, ref=ref, kind=found.kind, title=title, refused=str(exc), shown=None)
    finally:
        reader.close()
    subject = None  # not a person under a case; else whether they are a subject of it, and shown in full yet
    if found.kind == "person" and call.case and _valid(found.value):
        case = ledger.state(settings).cases.get(call.case)
        known = case.subjects.get(grants.normal_id(found.value)) if case else None
        subject = "no" if known is None else "shown" if known.shown(settings.subject_approval) else "pending"
    events = timeline.events(shown) if found.kind in PEOPLE else None
    return page(request, "look.html", ref=ref, kind=found.kind, title=title, shown=shown, subject=subject, refused=None,
                events=events, opens=_opens(found, shown), about=LISTS.get(found.value))  # fmt: skip


def _valid(id_number: str) -> bool:
    try:
        grants.normal_id(id_number)
    except Refused:
        return False
    return True


@router.post("/look/{ref}/subject", dependencies=[Checked])
def add_subject(request: Request, user: Signed, ref: str, reason: Annotated[str, Form()]) -> Response:
    found, call = _call(request, user, ref)
    if found.kind != "person" or not call.case:
        raise Refused("a subject is a person looked up under a case: pick a case first")
    settings = settings_of(request)
    text = f"case add-subject {call.case} {acts.subject_text(settings, found.value)}"
    with acts.acting(settings, user, "case add-subject", text, call.case):
        grants.add_subject(settings, user, call.case, found.value, reason)
    return RedirectResponse(f"/look/{ref}", status_code=303)


@router.post("/look/{ref}/export", dependencies=[Checked])
def export(request: Request, user: Signed, ref: str, fmt: Annotated[str, Form()]) -> Response:
    if fmt not in exports.FORMATS:
        raise Refused(f"export as {' or '.join(exports.FORMATS)}")
    _, call = _call(request, user, ref)
    made = exports.export(settings_of(request), user, call, fmt)
    kinds = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    headers = {"Content-Disposition": f'attachment; filename="{made.filename}"', "X-Xgate-Export": made.export_id}
    return Response(made.content, media_type=kinds[fmt], headers=headers)


@router.get("/grants/request")
def grant_request_page(request: Request, user: Signed) -> Response:
    from access.policy import fields

    return page(request, "grant_request.html", datasets=sorted({d for d, _ in fields()}))


@router.post("/grants/request", dependencies=[Checked])
def grant_request(
    request: Request, user: Signed, dataset: Annotated[str, Form()], reason: Annotated[str, Form()]
) -> Response:
    settings, case = settings_of(request), session_of(request).case
    with acts.acting(settings, user, "grant request", f"grant request {dataset} ({reason})", case):
        if not case or not reason.strip():
            raise Refused("a grant request needs a case (pick one) and a reason")
        grants.request(settings, user, case, dataset, reason)
    return RedirectResponse("/grants", status_code=303)

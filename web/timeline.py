"""A person's timeline, made from the sections their page has just read: no read of its own.

Each dated value of a section becomes an event (registered, moved or registered twice, a phone activated or
cancelled, a rental begun or ended, a health event, a death). The dates are shown as the read showed them: a
masked date keeps only its year (``2019-**-**``) and so sorts by year; a hidden one (a sensitive field without
the grant) is listed last, as hidden, rather than left out, so the page never suggests an event did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass

from access.reader import Shown
from contracts.masking import HIDDEN

ACTIVE = "正常"  # civil affairs' status of a registration that stands


@dataclass(frozen=True)
class Event:
    when: str  # as shown: 2019-03-02, 2019-**-**, or "" when hidden or unknown
    what: str
    detail: str


def _rows(shown: Shown, section: str) -> list[dict]:
    columns, rows = shown.sections.get(section, ([], []))
    return [dict(zip(columns, row)) for row in rows]


def _day(value: object) -> str:
    text = "" if value is None else str(value)
    return "" if text == HIDDEN else text[:10]


def _join(*values: object) -> str:
    return " · ".join(str(v) for v in values if v not in (None, ""))


def events(shown: Shown) -> list[Event]:
    """The events of ``shown``, oldest first; undated ones (hidden, unknown) last."""
    found: list[Event] = []
    before: dict | None = None
    for row in sorted(_rows(shown, "registrations"), key=lambda r: str(r.get("registered_on") or "")):
        what = "registered"
        if before is not None and row.get("address_code") != before.get("address_code"):
            standing = before.get("status") == row.get("status") == ACTIVE  # both stand: a duplicate, not a move
            what = "registered again elsewhere, the earlier still standing" if standing else "moved"
        found.append(Event(_day(row.get("registered_on")), what, _join(row.get("address"), row.get("status"))))
        before = row
    for row in _rows(shown, "phones"):
        detail = _join(row.get("msisdn"), row.get("carrier"))
        found.append(Event(_day(row.get("activated_at")), "phone activated", detail))
        if row.get("cancelled_at"):
            found.append(Event(_day(row.get("cancelled_at")), "phone cancelled", detail))
    for row in _rows(shown, "rentals"):
        detail = _join(row.get("address"), row.get("dataset"))
        found.append(Event(_day(row.get("start_date")), "rental began", detail))
        if row.get("end_date"):
            found.append(Event(_day(row.get("end_date")), "rental ended", detail))
    for row in _rows(shown, "health_events"):
        found.append(
            Event(_day(row.get("period_start")), "health event", _join(row.get("type_text"), row.get("status")))
        )
    for row in _rows(shown, "death_registrations"):
        found.append(Event(_day(row.get("death_date")), "death registered by civil affairs", ""))
    deaths: dict[str, list[str]] = {}  # one death, however many findings list it
    for row in _rows(shown, "deaths"):
        deaths.setdefault(_day(row.get("deceased_at")), []).append(str(row.get("finding") or ""))
    found += [Event(day, "death known to health", _join(*findings)) for day, findings in deaths.items()]
    return sorted(found, key=lambda e: (e.when == "", e.when))

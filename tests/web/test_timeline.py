"""The timeline is made from the sections a page read: dated as shown, hidden dates last, one death once."""

from __future__ import annotations

from access.reader import Shown
from web.timeline import events


def test_events_are_dated_as_shown_and_a_hidden_date_is_listed_last() -> None:
    registrations = [("A1", "地址*1", "迁出", "2001-02-10"), ("A2", "地址*2", "正常", "2010-05-01")]
    phones = [("138****1234", "中国移动", "2018-**-** **:**", None)]
    rentals = [("housing.rentals", "地址*3", "2025-**-**", "2026-**-**")]
    deaths = [("dead_but_registered", "[hidden]"), ("dead_with_active_phone", "[hidden]")]
    shown = Shown({
        "registrations": (["address_code", "address", "status", "registered_on"], registrations),
        "phones": (["msisdn", "carrier", "activated_at", "cancelled_at"], phones),
        "rentals": (["dataset", "address", "start_date", "end_date"], rentals),
        "deaths": (["finding", "deceased_at"], deaths),
    })  # fmt: skip
    found = [(e.when, e.what) for e in events(shown)]
    assert found == [("2001-02-10", "registered"), ("2010-05-01", "moved"), ("2018-**-**", "phone activated"),
                     ("2025-**-**", "rental began"), ("2026-**-**", "rental ended"),
                     ("", "death known to health")]  # fmt: skip
    assert events(shown)[-1].detail == "dead_but_registered · dead_with_active_phone"


def test_two_standing_registrations_are_not_a_move() -> None:
    rows = [("A1", "正常", "1990-09-12"), ("A2", "正常", "1990-09-12")]
    shown = Shown({"registrations": (["address_code", "status", "registered_on"], rows)})
    assert [e.what for e in events(shown)] == ["registered", "registered again elsewhere, the earlier still standing"]

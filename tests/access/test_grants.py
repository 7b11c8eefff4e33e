"""Cases, subjects and grants: signed ledger events; every abuse that worked before is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from access import grants, ledger
from access.users import Refused
from tests.access.conftest import ADMIN, COLLEAGUE, INVESTIGATOR, OUTSIDER, SUPERVISOR, write_users
from xgate.settings import Settings

ID = "11010519900101007X"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path, access_dir=tmp_path / "access", users_file=write_users(tmp_path / "p"))
    grants.open_case(settings, INVESTIGATOR, "C-1", "a case")
    return settings


def test_a_grant_is_decided_by_another_admin_and_bound_to_its_requester(settings: Settings) -> None:
    event = grants.request(settings, INVESTIGATOR, "C-1", "health.patients", "death check")
    with pytest.raises(Refused, match="someone other than who asked"):
        grants.approve(settings, INVESTIGATOR.model_copy(update={"role": "admin"}), event["grant"], 7)
    grants.approve(settings, ADMIN, event["grant"], 7)
    state = ledger.state(settings)
    assert state.granted(INVESTIGATOR.name, "C-1") == {"health.patients"}
    assert state.granted(COLLEAGUE.name, "C-1") == frozenset()  # same case number, not their grant
    assert state.granted(INVESTIGATOR.name, "C-2") == frozenset()
    assert state.granted(INVESTIGATOR.name, "C-1", datetime.now(UTC) + timedelta(days=8)) == frozenset()
    with pytest.raises(Refused, match="already decided"):
        grants.approve(settings, SUPERVISOR, event["grant"], 7)


@pytest.mark.parametrize("number", ["139-1234-5678", "139---1234---5678", "139.1234.5678", "2026-031456", f"C3-{ID}"])
def test_a_case_number_holds_at_most_nine_digits_in_all(settings: Settings, number: str) -> None:
    """A case number is kept and shown in clear (ledger, case list, web pages, export stamps): with at most 9
    digits in all no ID or phone number fits, whatever separates them; the refusal says why and never
    repeats the number, nor does a read or request under one that cannot be a case."""
    with pytest.raises(Refused, match="at most 9 digits in all") as refused:
        grants.open_case(settings, INVESTIGATOR, number, "a case")
    with pytest.raises(Refused, match="at most 9 digits in all") as asked:
        grants.request(settings, INVESTIGATOR, number, "health.patients", "why")
    assert number not in str(refused.value) + str(asked.value) + ledger.path(settings).read_text()
    grants.open_case(settings, INVESTIGATOR, "2026-031", "a year and a sequence number fit")


def test_a_grant_request_needs_the_case(settings: Settings) -> None:
    with pytest.raises(Refused, match="not on case"):
        grants.request(settings, OUTSIDER, "C-1", "health.patients", "curious")
    with pytest.raises(Refused, match="not open"):
        grants.request(settings, INVESTIGATOR, "C-9", "health.patients", "typo")
    with pytest.raises(Refused, match="no contract dataset"):
        grants.request(settings, INVESTIGATOR, "C-1", "no.such", "x")
    with pytest.raises(Refused, match="1 to 90"):
        grants.approve(
            settings, ADMIN, grants.request(settings, INVESTIGATOR, "C-1", "health.patients", "r")["grant"], 0
        )


def test_denied_grants_never_hold(settings: Settings) -> None:
    event = grants.request(settings, INVESTIGATOR, "C-1", "health.patients", "r")
    grants.deny(settings, ADMIN, event["grant"], "not needed")
    assert ledger.state(settings).granted(INVESTIGATOR.name, "C-1") == frozenset()
    assert grants.listed(settings, INVESTIGATOR)[0][1] == "denied"


def test_hand_written_events_count_for_nothing(settings: Settings) -> None:
    path = ledger.path(settings)
    forged = [
        {"event": "grant requested", "grant": "G99", "case": "C-1", "dataset": "health.patients", "reason": "x",
         "by": INVESTIGATOR.name, "seq": 2, "at": datetime.now(UTC).isoformat(), "prev_mac": "0", "mac": "0"},
        {"event": "grant approved", "grant": "G99", "days": 30, "by": ADMIN.name, "seq": 3,
         "at": datetime.now(UTC).isoformat(), "prev_mac": "0", "mac": "0"},
        {"event": "member added", "case": "C-1", "user": OUTSIDER.name, "by": INVESTIGATOR.name, "seq": 4,
         "at": datetime.now(UTC).isoformat(), "prev_mac": "0", "mac": "0"},
    ]  # fmt: skip
    with path.open("a") as out:
        out.writelines(json.dumps(event) + "\n" for event in forged)
    state = ledger.state(settings)
    assert state.granted(INVESTIGATOR.name, "C-1") == frozenset() and "G99" not in state.grants
    assert OUTSIDER.name not in state.cases["C-1"].members and state.ignored == [2, 3, 4]
    assert "lines 2 on were written around xgate" in ledger.verify(settings)[1]
    grants.add_member(settings, INVESTIGATOR, "C-1", COLLEAGUE.name)  # the next event sets them aside, kept
    assert ledger.verify(settings) == (2, None) and len(list(path.parent.glob("ledger.rejected-*.jsonl"))) == 1


def test_edits_deletions_replays_and_cuts_fail_closed(settings: Settings) -> None:
    first = grants.request(settings, INVESTIGATOR, "C-1", "health.patients", "r")
    grants.approve(settings, ADMIN, first["grant"], 1)
    path = ledger.path(settings)
    good = path.read_bytes()
    path.write_bytes(good.replace(b'"days":1', b'"days":90'))  # an edited approval
    with pytest.raises(ledger.LedgerDamaged, match="breaks at line 3"):
        ledger.state(settings)
    lines = good.splitlines()
    path.write_bytes(b"\n".join([lines[0], lines[2], lines[1]]) + b"\n")  # the approval moved before the request
    with pytest.raises(ledger.LedgerDamaged):
        ledger.state(settings)
    path.write_bytes(b"\n".join(lines[:2]) + b"\n")  # the approval cut off the end
    with pytest.raises(ledger.LedgerDamaged, match="ends before event 3"):
        ledger.state(settings)
    with pytest.raises(ledger.LedgerDamaged):
        grants.request(settings, INVESTIGATOR, "C-1", "health.patients", "writes fail closed too")
    assert "ends before" in ledger.verify(settings)[1]
    path.write_bytes(good)
    assert ledger.verify(settings) == (3, None)


def test_two_opens_of_one_case_at_once_one_wins(settings: Settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_it(user) -> str:
        try:
            grants.open_case(settings, user, "RACE", "a race")
            return "opened"
        except Refused:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(open_it, (INVESTIGATOR, OUTSIDER)))
    assert outcomes == ["opened", "refused"]
    assert len(ledger.state(settings).cases["RACE"].members) == 1


def test_members_and_subjects(settings: Settings) -> None:
    with pytest.raises(Refused, match="not on case"):
        grants.add_member(settings, OUTSIDER, "C-1", OUTSIDER.name)  # no one joins a case by themself
    with pytest.raises(Refused, match="not an investigator"):
        grants.add_member(settings, INVESTIGATOR, "C-1", ADMIN.name)
    grants.add_member(settings, ADMIN, "C-1", COLLEAGUE.name)
    with pytest.raises(Refused, match="not a valid resident ID"):
        grants.add_subject(settings, COLLEAGUE, "C-1", "110105199001010021", "typo in the check digit")
    with pytest.raises(Refused, match="--reason"):
        grants.add_subject(settings, COLLEAGUE, "C-1", ID, " ")
    grants.add_subject(settings, COLLEAGUE, "C-1", ID.lower(), "suspect")
    state = ledger.state(settings)
    assert state.subjects("C-1", approval_required=False) == {ID}
    assert state.subjects("C-1", approval_required=True) == frozenset()
    assert state.subjects("C-2", approval_required=False) == frozenset()
    with pytest.raises(Refused, match="already open"):
        grants.open_case(settings, OUTSIDER, "C-1", "hijack")


def test_concurrent_requests_get_distinct_ids(settings: Settings) -> None:
    ids = {grants.request(settings, INVESTIGATOR, "C-1", "health.patients", f"r{i}")["grant"] for i in range(5)}
    assert len(ids) == 5 and ledger.verify(settings) == (6, None)

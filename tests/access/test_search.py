"""Search by name and birth date, the person behind a record, and the discrepancy lists: reads like any."""

from __future__ import annotations

import pytest

from access import audit, lookups, probes
from access.reader import Reader
from access.users import Refused
from contracts.masking import mask_value
from tests.access.conftest import CASE, INVESTIGATOR

KEYS = {"id_number", "record_key", "rental_key", "household_id", "resident_id", "subscriber_id", "patient_id"}


def _values(shown) -> str:
    return " ".join(str(v) for _, rows in shown.sections.values() for row in rows for v in row)


def test_a_search_finds_the_person_without_their_id_or_a_key_to_it(read, access_settings, named_person) -> None:
    person = named_person
    shown = read(lookups.search(access_settings, INVESTIGATOR, person["name"], person["birth_date"], CASE, "find"))
    columns, rows = shown.sections["person"]
    assert len(rows) == 1 and "id_number" not in columns
    assert set(shown.sections) == {"person"}  # who and which departments: any other value finds the masked ID
    assert not KEYS & {c for cols, _ in shown.sections.values() for c in cols}
    values = _values(shown)
    # the masked ID (region, sequence) with the birth date given would be the whole number: neither is shown
    assert person["id_number"] not in values and str(mask_value(person["id_number"])) not in values
    assert person["name"] not in values  # masked as any read shows it
    log = audit.log_path(access_settings).read_text(encoding="utf-8")
    assert person["name"] not in log and person["birth_date"] not in log  # recorded as keyed tokens only
    last = audit.reads(access_settings)[-1]
    assert (last["command"], last["outcome"], last["case"]) == ("search", "allowed", CASE)
    assert last["query"].startswith("search name <t:")
    assert [r["command"] for r in audit.who_read(access_settings, person["id_number"])] == ["search"]


def test_a_search_needs_the_exact_name_and_the_full_date(read, access_settings, named_person) -> None:
    name, born = named_person["name"], named_person["birth_date"]
    assert not read(lookups.search(access_settings, INVESTIGATOR, name[:-1], born, CASE, "find")).sections["person"][1]
    for partial in (born[:7], born[:4], "not a date"):
        with pytest.raises(Refused, match="full birth date"):
            read(lookups.search(access_settings, INVESTIGATOR, name, partial, CASE, "find"))
    with pytest.raises(Refused, match="case number"):
        read(lookups.search(access_settings, INVESTIGATOR, name, born, None, None))
    outcomes = [r["outcome"] for r in audit.reads(access_settings) if r["command"] == "search"]
    assert outcomes == ["allowed", "refused", "refused", "refused", "refused"]


def _searched(settings, name: str, born: str) -> None:
    """A search this user made earlier, as the guard counts it (kept apart from the audit: rotating the log
    resets nothing)."""
    probes.searched(settings, INVESTIGATOR.name, name, born, lookups.GUESSES, settings.name_searches)


def test_guessing_a_birth_date_or_a_name_is_refused(read, access_settings, named_person) -> None:
    name, born = named_person["name"], named_person["birth_date"]
    for day in ("1990-01-01", "1990-01-02", "1990-01-03"):
        _searched(access_settings, name, day)
    with pytest.raises(Refused, match="guessing"):  # a fourth birth date for one name
        read(lookups.search(access_settings, INVESTIGATOR, name, born, CASE, "find"))
    for other in ("王芳", "李娜", "刘洋"):
        _searched(access_settings, other, born)
    with pytest.raises(Refused, match="guessing"):  # a fourth name for one birth date
        read(lookups.search(access_settings, INVESTIGATOR, "赵磊", born, CASE, "find"))
    refused = audit.reads(access_settings)[-1]
    assert (refused["command"], refused["outcome"]) == ("search", "refused") and "赵磊" not in refused["query"]
    read(lookups.search(access_settings, INVESTIGATOR, name, "1990-01-02", CASE, "find"))  # a date tried before
    daily = access_settings.model_copy(update={"name_searches": 7})
    reader = Reader(daily)
    try:
        with pytest.raises(Refused, match="XGATE_NAME_SEARCHES"):
            reader.read(lookups.search(daily, INVESTIGATOR, "孙伟", "1980-05-05", CASE, "find"))
    finally:
        reader.close()


def test_a_discrepancy_list_opens_the_person_behind_a_row(read, access_settings) -> None:
    listed = read(lookups.discrepancy(INVESTIGATOR, "duplicate_registration", CASE, "duplicates"))
    columns, rows = listed.sections["duplicate_registration"]
    assert rows and "*" in _values(listed)
    first = audit.reads(access_settings)[-1]
    assert first["command"] == "discrepancy" and len(first["subjects"]) >= 1  # every person listed is recorded
    key = rows[0][columns.index("resident_id")]
    person = read(lookups.record(INVESTIGATOR, "civil.residents", key, CASE, "duplicates"))
    assert len(person.sections["registrations"][1]) >= 2  # registered twice: that is the discrepancy
    opened = audit.reads(access_settings)[-1]
    assert opened["command"] == "record" and set(opened["subjects"]) & set(first["subjects"])
    dead = read(lookups.discrepancy(INVESTIGATOR, "shared.dead_but_registered", CASE, "deaths"))
    assert not dead.sections and "grant" in dead.notes[0]  # the health grant first
    with pytest.raises(Refused, match="discrepancy list is one of"):
        read(lookups.discrepancy(INVESTIGATOR, "shared.person", CASE, "everyone"))
    with pytest.raises(Refused, match="a record is one of"):
        read(lookups.record(INVESTIGATOR, "linkage.features", "x", CASE, "everyone"))

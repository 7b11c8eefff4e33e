"""The investigator's search by name and birth date, the person's timeline, and the discrepancy lists with their
drill-down, in headless Chromium; each read checked in the audit (who-read names the people shown)."""

from __future__ import annotations

import re

from access import audit, ledger
from contracts.masking import mask_value
from tests.access.conftest import CASE
from tests.web.conftest import pick_case, shot

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])[0-9]{17}[0-9X](?![0-9A-Za-z])")


def test_a_search_by_name_and_birth_date_shows_who_and_no_id(visit, web_settings, named_person) -> None:
    person = named_person
    page = visit("investigator")
    pick_case(page, "find by name")
    page.goto("/search")
    page.fill("#by-name input[name=name]", person["name"])
    page.fill("#by-name input[name=born]", person["birth_date"])
    with page.expect_navigation():
        page.click("#by-name button[type=submit]")
    assert "/look/" in page.url and person["name"] not in page.url and person["birth_date"] not in page.url
    assert page.inner_text("main h1") == "Person by name and birth date"
    html = page.content()
    assert person["id_number"] not in html and str(mask_value(person["id_number"])) not in html
    assert page.locator("section[data-section=person] tbody tr").count() == 1
    assert page.locator("section[data-section]").count() == 1  # no record: any value would find the masked ID
    assert page.locator("#timeline tbody tr").count() == 0
    shot(page, "search-by-name")
    read = audit.reads(web_settings)[-1]
    assert (read["command"], read["outcome"], read["purpose"]) == ("search", "allowed", "find by name")
    assert "search" in [r["command"] for r in audit.who_read(web_settings, person["id_number"])]


def test_a_discrepancy_list_drills_down_to_the_person_behind_a_row(visit, web_settings) -> None:
    page = visit("investigator")
    pick_case(page, "duplicate registrations")
    page.goto("/discrepancies")
    with page.expect_navigation():
        page.click("#lists tr:has-text('duplicate_registration') button")
    assert page.locator("#list tbody tr").count() >= 1
    subjects = set(ledger.state(web_settings).cases[CASE].subjects)
    html = page.inner_html("main")
    assert "*" in html and set(FULL_ID.findall(html)) <= subjects  # masked, a case subject aside
    listed = audit.reads(web_settings)[-1]
    assert (listed["command"], listed["outcome"]) == ("discrepancy", "allowed") and listed["subjects"]
    shot(page, "discrepancy-list")
    with page.expect_navigation():
        page.locator("#list button.open").first.click()
    assert page.inner_text("main h1") == "Person behind a record"
    assert page.locator("section[data-section=registrations] tbody tr").count() >= 2
    assert page.locator("#timeline tbody tr").count() >= 2
    assert set(FULL_ID.findall(page.inner_html("main"))) <= subjects
    shot(page, "discrepancy-person")
    opened = audit.reads(web_settings)[-1]
    assert (opened["command"], opened["outcome"]) == ("record", "allowed")
    assert set(opened["subjects"]) & set(listed["subjects"])  # who-read finds the person opened

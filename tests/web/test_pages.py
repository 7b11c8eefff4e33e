"""The workbench in headless Chromium, page by page, as its users work: each act checked in the audit too."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

from openpyxl import load_workbook

from access import audit, grants
from tests.access.conftest import CASE, INVESTIGATOR
from tests.web.conftest import look_up, pick_case, shot, sign_in

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])[0-9]{17}[0-9X](?![0-9A-Za-z])")


def test_sign_in_and_a_failed_sign_in(visit, web_settings) -> None:
    page = visit()
    sign_in(page, "investigator", "not the password")
    assert "wrong user name or password" in page.inner_text("#error")
    shot(page, "signin-failed")
    sign_in(page, "investigator")
    assert page.url.endswith("/search")
    assert page.inner_text("#who") == "investigator (investigator)"
    shot(page, "signin-ok")
    logins = [r for r in audit.reads(web_settings) if r["command"] == "login" and r["user"] == "investigator"]
    assert [r["outcome"] for r in logins[-2:]] == ["refused", "allowed"]
    assert {r["query"] for r in logins} == {"web login"}


def test_a_look_up_without_a_case_is_refused_and_recorded(visit, web_settings, people) -> None:
    page = visit("investigator")
    look_up(page, people[0])
    assert "every read needs a case number" in page.inner_text("#refused")
    assert "Pick a case" in page.inner_text("#refused")
    assert "No case picked" in page.inner_text("#case")
    shot(page, "lookup-refused")
    last = audit.reads(web_settings)[-1]
    assert (last["command"], last["outcome"], last["case"]) == ("person", "refused", None)


def test_a_look_up_then_a_subject_added_is_shown_in_full(visit, web_settings, people) -> None:
    person = people[1]
    page = visit("investigator")
    pick_case(page)
    assert CASE in page.inner_text("#case")
    look_up(page, person)
    sections = page.locator("section.section")
    assert sections.count() >= 4
    text = page.inner_text("main")
    assert person not in text and "*" in text  # masked: not a subject of the case yet
    assert "phone activated" in page.inner_text("#timeline")  # the timeline, from the records read
    shot(page, "person-masked")
    page.click("#add-subject summary")
    page.fill("#add-subject input[name=reason]", "named by a witness")
    page.click("#add-subject button[type=submit]")
    assert "A subject of case" in page.inner_text("#subject")
    assert person in page.inner_text("section[data-section=person]")
    assert CASE in page.inner_text("#case")  # the case on every page
    shot(page, "person-subject")
    added = [r for r in audit.reads(web_settings) if r["command"] == "case add-subject"][-1]
    assert added["outcome"] == "allowed" and audit.subject_hash(web_settings, person) in added["subjects"]


def test_an_export_carries_its_stamp_and_its_hash_is_in_the_audit(visit, web_settings, people) -> None:
    page = visit("investigator")
    pick_case(page, "export for the file")
    look_up(page, people[2])
    with page.expect_download() as waiting:
        page.click("#export-csv")
    data = Path(waiting.value.path()).read_bytes()
    stamp = {row[0]: row[1] for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if row and row[0][:2] == "# "}
    assert (stamp["# user"], stamp["# case"], stamp["# purpose"]) == ("investigator", CASE, "export for the file")
    record = next(r for r in reversed(audit.reads(web_settings)) if r["command"] == "export")
    assert record["export_id"] == stamp["# export id"] and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert audit.subject_hash(web_settings, people[2]) in record["subjects"]
    with page.expect_download() as waiting:
        page.click("#export-xlsx")
    data = Path(waiting.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(data))["stamp"]
    stamped = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}
    record = next(r for r in reversed(audit.reads(web_settings)) if r["command"] == "export")
    assert (stamped["export id"], stamped["case"]) == (record["export_id"], CASE)
    assert record["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_auditor_drills_down_from_a_failing_rule_to_masked_rows(visit, web_settings) -> None:
    page = visit("auditor")
    assert page.url.endswith("/auditor")
    assert page.locator("#rates tbody tr").count() >= 3
    shot(page, "auditor-quality")
    rules = page.locator("#rules a.rule")
    assert rules.count() >= 1
    texts = rules.all_inner_texts()
    chosen = next((r for r in texts if "id_number" in r or "msisdn" in r), texts[0])
    page.click(f"#rules a.rule >> text={chosen}")
    page.wait_for_selector("#rule-rows section tbody tr")
    assert page.url.endswith(f"/auditor/rules/{chosen}")  # htmx pushed the drill-down's own address
    rows = page.inner_html("#rule-rows")
    assert "*" in rows and not FULL_ID.search(rows)
    shot(page, "auditor-rule")
    last = audit.reads(web_settings)[-1]
    assert (last["user"], last["command"], last["outcome"]) == ("auditor", "quarantine", "allowed")


def test_a_grant_is_requested_and_approved_by_an_admin(visit, web_settings) -> None:
    page = visit("investigator")
    pick_case(page)
    page.goto("/grants/request")
    page.select_option("select[name=dataset]", "health.patients")
    page.fill("input[name=reason]", "cause of death matters to the case")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    pending = [g for g, state in grants.listed(web_settings, INVESTIGATOR) if state == "pending"]
    grant = pending[-1].id
    assert page.inner_text(f"#grant-{grant} .state") == "pending"
    admin = visit("admin")
    assert admin.url.endswith("/grants")
    with admin.expect_navigation():
        admin.click(f"#grant-{grant} button:text('Approve')")
    assert admin.inner_text(f"#grant-{grant} .state") == "valid"
    assert "admin" in admin.inner_text(f"#grant-{grant}")
    shot(admin, "grant-approved")
    decided = [r for r in audit.reads(web_settings) if r["command"] == "grant approve"][-1]
    assert (decided["user"], decided["outcome"]) == ("admin", "allowed")


def test_the_audit_page_and_engineer_page(visit, web_settings, people) -> None:
    page = visit("auditor")
    page.goto("/auditor/audit")
    assert "Chain intact" in page.inner_text("#verdict")
    page.fill("input[name=id_number]", people[1])
    with page.expect_navigation():
        page.click("button:text('Who read')")
    assert page.inner_text("main h2") == "Reads of this person"
    reads = page.inner_text("#reads")
    assert "case add-subject" in reads and "named or shown" in reads and people[1] not in page.content()
    shot(page, "auditor-who-read")
    engineer = visit("engineer")
    assert engineer.url.endswith("/engineer")
    assert "civil.residents" in engineer.inner_text("main")
    shot(engineer, "engineer-batches")


def test_pages_send_security_headers_and_name_nothing_outside(visit, server) -> None:
    page = visit("investigator")
    for path in ("/search", "/cases", "/grants", "/signin"):
        answer = page.goto(path)
        headers = answer.all_headers()
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        html = page.content()
        outside = [u for u in re.findall(r"""(?:src|href|action)=["']([^"']+)""", html) if "//" in u]
        assert not outside, f"{path} names outside addresses: {outside}"
        assert "<script>" not in html and " on" + "click=" not in html
    cookie = next(c for c in page.context.cookies() if c["name"] == "xgate_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0

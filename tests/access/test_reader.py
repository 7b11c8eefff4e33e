"""Masking on every path (person, address, phone, query, engineers' SQL), cases, subjects, grants, roles."""

from __future__ import annotations

import json
import re

import pytest

from access import audit, grants, lookups
from access.users import Refused, User
from contracts.masking import HIDDEN
from tests.access.conftest import ADMIN, CASE, COLLEAGUE, ENGINEER, INVESTIGATOR, OUTSIDER
from warehouse import lake

MASKED_ID = re.compile(r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$")
MASKED_PHONE = re.compile(r"^1[0-9]{2}\*{4}[0-9]{4}$")
MASKED_NAME = re.compile(r"^\w\*+$")


def rows_of(section) -> list[dict]:
    columns, rows = section
    return [dict(zip(columns, row)) for row in rows]


def test_person_is_masked_and_health_hidden_without_grant(access_settings, read, facts) -> None:
    shown = read(lookups.person(INVESTIGATOR, facts["dead_id"], CASE, "missing person")).sections
    [person] = rows_of(shown["person"])
    assert MASKED_ID.match(person["id_number"]) and MASKED_NAME.match(person["name"])
    assert person["id_number"][-4:] == facts["dead_id"][-4:]
    assert all(MASKED_PHONE.match(p["msisdn"]) for p in rows_of(shown["phones"]))
    assert "deaths" not in shown  # that health reports a death is itself what a grant is for
    assert any(n.startswith("deaths:") and "grant" in n for n in read(lookups.person(
        INVESTIGATOR, facts["dead_id"], CASE, "missing person")).notes)  # fmt: skip
    started, done = audit.records(access_settings)[:2]
    assert started["outcome"] == "started" and done["of"] == started["seq"]
    assert done["outcome"] == "allowed" and done["rows"] >= 3 and done["snapshot"] is not None
    assert audit.subject_hash(access_settings, facts["dead_id"]) in done["subjects"]
    assert len(done["result_hash"]) == 64 and started["case"] == CASE and started["purpose"] == "missing person"


def test_a_subject_is_shown_in_full_to_the_case_members_only(access_settings, read, facts) -> None:
    grants.add_subject(access_settings, INVESTIGATOR, CASE, facts["dead_id"], "the missing person")
    for member in (INVESTIGATOR, COLLEAGUE):
        [person] = rows_of(read(lookups.person(member, facts["dead_id"], CASE, "find")).sections["person"])
        assert person["id_number"] == facts["dead_id"] and "*" not in person["name"]
    grants.open_case(access_settings, OUTSIDER, "C-OTHER", "another case")
    [person] = rows_of(read(lookups.person(OUTSIDER, facts["dead_id"], "C-OTHER", "x")).sections["person"])
    assert MASKED_ID.match(person["id_number"])
    sql = "SELECT id_number, msisdn FROM shared.phone WHERE id_number = '" + facts["dead_id"] + "'"
    [(_, rows)] = read(lookups.query(COLLEAGUE, sql, CASE, "the subject's phones")).sections.values()
    assert (facts["dead_id"], facts["msisdn"]) in rows  # full values of the subject, in a free query too
    assert all(r[0] == facts["dead_id"] and "*" not in r[1] for r in rows)
    disguised = "SELECT reverse(name), reverse(birth_date) FROM shared.person WHERE birth_date NOT LIKE '%*%'"
    [(_, rows)] = read(lookups.query(COLLEAGUE, disguised, CASE, "values turned around")).sections.values()
    assert rows  # the subject's values, changed on the way out: still a read of the subject in who-read
    subject = audit.subject_hash(access_settings, facts["dead_id"])
    assert audit.records(access_settings)[-1]["outcome"] == "allowed"
    assert any(r.get("purpose") == "values turned around" for r in audit.who_read(access_settings, facts["dead_id"]))
    assert subject in audit.records(access_settings)[-1]["possible_subjects"]


def test_subject_approval_when_the_setting_asks(access_settings, read, facts) -> None:
    settings = access_settings.model_copy(update={"subject_approval": True})
    grants.add_subject(settings, INVESTIGATOR, CASE, facts["dead_id"], "suspect")
    reader_settings = settings
    from access.reader import Reader

    def person() -> dict:
        reader = Reader(reader_settings)
        try:
            return rows_of(reader.read(lookups.person(INVESTIGATOR, facts["dead_id"], CASE, "p")).sections["person"])[0]
        finally:
            reader.close()

    assert MASKED_ID.match(person()["id_number"])
    with pytest.raises(Refused, match="someone other"):
        grants.approve_subject(settings, User(name="investigator", role="admin"), CASE, facts["dead_id"])
    grants.approve_subject(settings, ADMIN, CASE, facts["dead_id"])
    assert person()["id_number"] == facts["dead_id"]


def test_a_grant_is_one_investigators_for_one_case_until_it_expires(access_settings, read, facts) -> None:
    event = grants.request(access_settings, INVESTIGATOR, CASE, "health.patients", "identify the deceased")
    deaths = lambda user: read(lookups.person(user, facts["dead_id"], CASE, "id")).sections.get("deaths")  # noqa: E731
    assert deaths(INVESTIGATOR) is None  # pending is not granted
    grants.approve(access_settings, ADMIN, event["grant"], days=7)
    shown = rows_of(deaths(INVESTIGATOR))
    assert shown and all(str(d["deceased_at"])[:10] == facts["deceased"][:10] for d in shown)
    assert deaths(COLLEAGUE) is None  # same case, not their grant
    [person] = rows_of(read(lookups.person(INVESTIGATOR, facts["dead_id"], CASE, "id")).sections["person"])
    assert MASKED_ID.match(person["id_number"])  # a grant does not unmask personal fields
    started = next(r for r in audit.records(access_settings) if r.get("granted"))
    assert started["granted"] == ["health.patients"]


def test_views_that_list_the_dead_need_the_grant(access_settings, read) -> None:
    for view in ("shared.dead_with_active_phone", "shared.dead_but_registered"):
        with pytest.raises(Refused, match="needs your grant"):
            read(lookups.query(INVESTIGATOR, f"SELECT count(*) AS n FROM {view}", CASE, "who died"))
    assert [r["outcome"] for r in audit.records(access_settings)] == ["refused", "refused"]


def test_reads_need_an_open_case_the_reader_is_on(access_settings, read, facts) -> None:
    with pytest.raises(Refused, match="not open"):
        read(lookups.person(INVESTIGATOR, facts["dead_id"], "C-NONE", "p"))
    with pytest.raises(Refused, match="not on case"):
        read(lookups.person(OUTSIDER, facts["dead_id"], CASE, "p"))
    assert [r["outcome"] for r in audit.records(access_settings)] == ["refused", "refused"]


def test_phone_lookup_masks_and_accepts_formats(access_settings, read, facts) -> None:
    number = f"+86 {facts['msisdn'][:3]}-{facts['msisdn'][3:7]}-{facts['msisdn'][7:]}"
    [phone] = rows_of(read(lookups.phone(INVESTIGATOR, number, CASE, "threat call")).sections["phone"])
    assert MASKED_PHONE.match(phone["msisdn"]) and MASKED_ID.match(phone["id_number"])
    assert audit.subject_hash(access_settings, facts["dead_id"]) in audit.records(access_settings)[-1]["subjects"]


def test_address_lookup_masks_tenants(access_settings, read, facts) -> None:
    shown = read(lookups.address(INVESTIGATOR, facts["address"], CASE, "burglary")).sections
    rentals = rows_of(shown["rentals"])
    assert rentals and all(MASKED_ID.match(r["tenant_id_number"]) for r in rentals)
    assert facts["tenant"] not in str(shown)
    assert audit.subject_hash(access_settings, facts["tenant"]) in audit.records(access_settings)[-1]["subjects"]


def test_free_query_masks_personal_and_passes_internal(access_settings, read) -> None:
    sql = (
        "SELECT p.name, ph.msisdn, ph.status, count(*) OVER () AS n "
        "FROM shared.person p JOIN shared.phone ph USING (id_number)"
    )
    [(columns, rows)] = read(lookups.query(INVESTIGATOR, sql, CASE, "link")).sections.values()
    assert columns == ["name", "msisdn", "status", "n"] and rows
    assert all(MASKED_NAME.match(r[0]) and MASKED_PHONE.match(r[1]) for r in rows)
    assert {r[2] for r in rows} <= {"active", "cancelled"} and rows[0][3] > 0


def test_masked_ids_in_a_result_are_recorded_as_possible_reads(access_settings, read, facts) -> None:
    sql = f"SELECT id_number FROM shared.phone WHERE subscriber_id = '{facts['subscriber']}'"
    [(_, rows)] = read(lookups.query(INVESTIGATOR, sql, CASE, "list")).sections.values()
    assert rows and all(MASKED_ID.match(r[0]) for r in rows)
    found = audit.who_read(access_settings, facts["dead_id"])
    assert [r["command"] for r in found] == ["query"] and found[0]["outcome"] == "allowed"


def test_query_naming_an_id_is_a_read_of_that_person_even_split(access_settings, read, facts) -> None:
    head, tail = facts["dead_id"][:6], facts["dead_id"][6:]
    for sql in (
        f"SELECT name FROM shared.person WHERE id_number = '{facts['dead_id']}'",
        f"SELECT name FROM shared.person WHERE id_number = '{head}' || '{tail}'",
        f"SELECT name FROM shared.person WHERE id_number = concat('{head}', '{tail[:4]}', '{tail[4:]}')",
    ):
        read(lookups.query(INVESTIGATOR, sql, CASE, "check"))
    assert len(audit.who_read(access_settings, facts["dead_id"])) == 3
    assert facts["dead_id"] not in audit.log_path(access_settings).read_text()


@pytest.mark.parametrize("case, purpose", [(None, "p"), (CASE, None), ("", "p"), (CASE, "  ")])
def test_refused_without_case_or_purpose(access_settings, read, facts, case, purpose) -> None:
    with pytest.raises(Refused, match="case number"):
        read(lookups.person(INVESTIGATOR, facts["dead_id"], case, purpose))
    [record] = audit.records(access_settings)
    assert record["outcome"] == "refused" and "case number" in record["reason"]
    assert audit.subject_hash(access_settings, facts["dead_id"]) in record["subjects"]  # the attempt counts


@pytest.mark.parametrize(
    "role, call",
    [
        ("engineer", lambda u, f: lookups.person(u, f["dead_id"], CASE, "p")),
        ("auditor", lambda u, f: lookups.query(u, "SELECT 1 AS one", CASE, "p")),
        ("admin", lambda u, f: lookups.phone(u, f["msisdn"], CASE, "p")),
        ("investigator", lambda u, f: lookups.engineer_sql(u, "SELECT count(*) FROM raw.civil_residents")),
    ],
)
def test_wrong_role_is_refused_and_logged(access_settings, read, facts, role, call) -> None:
    with pytest.raises(Refused, match=f"role {role} may not"):
        read(call(User(name=role, role=role), facts))
    [record] = audit.records(access_settings)
    assert (record["role"], record["outcome"]) == (role, "refused")


def test_engineer_sql_is_masked_audited_and_pins_snapshots(access_settings, read, landed) -> None:
    sql = "SELECT id_number, name, ethnicity, status, _batch_id FROM raw.civil_residents LIMIT 5"
    [(_, rows)] = read(lookups.engineer_sql(ENGINEER, sql)).sections.values()
    assert rows and all(MASKED_ID.match(r[0]) and r[2] == HIDDEN and r[4] for r in rows)
    dead = "WITH d AS (SELECT * FROM shared.dead_but_registered) SELECT count(*) AS n FROM d"
    with pytest.raises(Refused, match="needs your grant"):  # an engineer holds no grant either
        read(lookups.engineer_sql(ENGINEER, dead))
    phones = "WITH p AS (SELECT * FROM shared.phone) SELECT count(*) AS n FROM p"
    [(_, [(n,)])] = read(lookups.engineer_sql(ENGINEER, phones)).sections.values()
    con = lake.connect(landed[0], read_only=True)
    try:
        assert n == con.execute("SELECT count(*) FROM shared.phone").fetchone()[0] > 0
    finally:
        con.close()
    count = "SELECT count(*) FROM meta.batches"
    [(_, [(old,)])] = read(lookups.engineer_sql(ENGINEER, count), as_of=2).sections.values()
    [(_, [(now,)])] = read(lookups.engineer_sql(ENGINEER, count)).sections.values()
    assert old < now
    done = [r for r in audit.records(access_settings) if r["outcome"] == "allowed"]
    assert len(done) == 4 and done[2]["snapshot"] == 2
    with pytest.raises(Refused):
        read(lookups.engineer_sql(ENGINEER, "SELECT * FROM read_parquet('x.parquet')"))


def test_person_shows_linked_records_with_how_they_joined(read, facts) -> None:
    linked = rows_of(
        read(lookups.person(INVESTIGATOR, facts["dead_id"], CASE, "all records")).sections["linked_records"]
    )
    assert {r["dataset"] for r in linked} >= {"telecom.subscribers", "health.patients"}
    assert all(r["how"] == "exact" or r["how"].startswith("probable, p = 0.") for r in linked)


def test_a_list_collided_with_the_lake_is_a_recorded_read(access_settings, facts, tmp_path) -> None:
    import pyarrow as pa

    from access.reader import Reader
    from linkage import files

    path = tmp_path / "list.csv"
    path.write_text(f"编号,身份证号\nL1,{facts['dead_id']}\n", encoding="utf-8")
    listing = files.read_list(path, files.parse_map("id_number=身份证号"), None, "list")
    reader = Reader(access_settings)
    try:
        pairs = reader.collide(lookups.link_file(INVESTIGATOR, path.name, {facts["dead_id"]}, CASE, "tip-off"), listing)
        with pytest.raises(Refused, match="not on case"):
            reader.collide(lookups.link_file(OUTSIDER, path.name, set(), CASE, "x"), listing)
        variants = tmp_path / "variants.csv"  # one person tried twice, an ID digit apart: which one is right?
        near = facts["dead_id"][:-5] + str((int(facts["dead_id"][-5]) + 1) % 10) + facts["dead_id"][-4:]
        variants.write_text(f"编号,身份证号\nV1,{facts['dead_id']}\nV2,{near}\n", encoding="utf-8")
        tried = files.read_list(variants, files.parse_map("id_number=身份证号"), None, "list")
        try:
            more = reader.collide(lookups.link_file(INVESTIGATOR, variants.name, set(), CASE, "x"), tried)
            assert set(more.column("key_l").to_pylist()) <= {"V1"}  # if the near one does not match at all
        except Refused as exc:
            assert "match one person" in str(exc)
    finally:
        reader.close()
    assert all("off" not in (r or "") and "swapped" not in (r or "") for r in pairs.column("reason").to_pylist())
    assert isinstance(pairs, pa.Table) and pairs.num_rows >= 1 and set(pairs.column("key_l").to_pylist()) == {"L1"}
    assert facts["dead_id"] not in str(pairs.to_pylist())
    [read_] = [r for r in audit.reads(access_settings)
               if r["command"] == "link file" and r["outcome"] == "allowed" and r["purpose"] == "tip-off"]  # fmt: skip
    assert read_["case"] == CASE and audit.subject_hash(access_settings, facts["dead_id"]) in read_["subjects"]


def test_a_list_row_is_matched_on_what_it_states_exactly(access_settings, facts, tmp_path) -> None:
    """The real name with an ID one visible digit off (its check character worked out again) would tell, run
    after run with a new near miss each time, which guessed birth date the mask hides: such a row matches
    no one. The name with the birth date, and no ID, is matched (and counted by the guard)."""
    from stdnum.cn import ric

    from access.reader import Reader
    from linkage import files

    real = facts["dead_id"]
    body = real[:15] + str((int(real[15]) + 1) % 10) + real[16]
    near = body + ric.calc_check_digit(body + "0")
    born = f"{real[6:10]}-{real[10:12]}-{real[12:14]}"
    found = {}
    reader = Reader(access_settings)
    try:
        for label, header, row in (("near", "身份证号", near), ("named", "出生日期", born)):
            path = tmp_path / f"{label}.csv"
            path.write_text(f"编号,姓名,{header}\nK1,{facts['name']},{row}\n", encoding="utf-8")
            role = "id_number" if label == "near" else "birth_date"
            listing = files.read_list(path, files.parse_map(f"name=姓名,{role}={header}"), None, "list")
            found[label] = reader.collide(lookups.link_file(INVESTIGATOR, path.name, set(), CASE, "x"), listing)
    finally:
        reader.close()
    assert found["near"].num_rows == 0
    assert found["named"].num_rows >= 1


def test_what_a_row_holds_beside_its_anchor_changes_nothing(access_settings, facts, tmp_path) -> None:
    """A row anchored on an exact phone or ID matches whatever birth date or name it also holds, and the pair's
    reason names the anchor alone: a score those fields move would confirm a guessed birth date (every date
    of a year tried beside a known phone) or a guessed name, one row at a time."""
    from access.reader import Reader
    from linkage import files

    def collide(label: str, header: str, rows: list[str], mapping: str):
        path = tmp_path / f"{label}.csv"
        path.write_text(header + "\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
        listing = files.read_list(path, files.parse_map(mapping), None, "list")
        return reader.collide(lookups.link_file(INVESTIGATOR, path.name, set(), CASE, "x"), listing)

    real = facts["dead_id"]
    born = f"{real[6:10]}-{real[10:12]}-{real[12:14]}"
    reader = Reader(access_settings)
    try:
        for day in ("1901-01-01", born):
            pairs = collide(f"phone{day}", "k,name,phone,birth_date", [f"k1,.,{facts['msisdn']},{day}"],
                            "name=name,phone=phone,birth_date=birth_date")  # fmt: skip
            assert pairs.num_rows >= 1 and set(pairs.column("reason").to_pylist()) == {"phone: exact"}
        with pytest.raises(Refused, match="match one person"):
            collide("dates", "k,name,phone,birth_date", [f"k{d},.,{facts['msisdn']},1980-01-{d:02d}" for d in (1, 2)],
                    "name=name,phone=phone,birth_date=birth_date")  # fmt: skip
        pairs = collide("named", "k,id,name", [f"k1,{real},{facts['name']}"], "id_number=id,name=name")
        assert set(pairs.column("reason").to_pylist()) == {"id_number: exact"}
        assert set(pairs.column("match_probability").to_pylist()) == {1.0}
    finally:
        reader.close()


def test_engineers_triage_quarantine_with_values_masked(read, facts) -> None:
    sql = "SELECT batch_id, row_number, column_name, rule_key, value, record FROM quarantine.rows ORDER BY row_number"
    [(_, rows)] = read(lookups.engineer_sql(ENGINEER, sql)).sections.values()
    assert rows and all(r[0] and r[1] is not None and r[2] and r[3] for r in rows)  # batch, row, column, rule clear
    text = str(rows)
    assert not any(i in text for i in facts["ids"] if i) and not any(p in text for p in facts["phones"] if p)
    records = [json.loads(r[5]) for r in rows]
    assert all("*" in r["id_number"] for r in records if len(r.get("id_number") or "") >= 15)


def test_a_list_that_guesses_masked_digits_is_refused_and_recorded(access_settings, facts, tmp_path) -> None:
    from datetime import date, timedelta

    from access.reader import Reader
    from linkage import files

    masked_id = facts["dead_id"]
    year = int(masked_id[6:10])
    guesses = [masked_id[:6] + (date(year, 1, 1) + timedelta(days=d)).strftime("%Y%m%d") + masked_id[-4:]
               for d in range(365)]  # fmt: skip
    path = tmp_path / "guesses.csv"
    path.write_text("编号,身份证号\n" + "".join(f"G{i},{g}\n" for i, g in enumerate(guesses)), encoding="utf-8")
    listing = files.read_list(path, files.parse_map("id_number=身份证号"), None, "list")
    reader = Reader(access_settings)
    try:
        with pytest.raises(Refused, match="looks like guessing"):
            reader.collide(lookups.link_file(INVESTIGATOR, path.name, set(guesses), CASE, "x"), listing)
    finally:
        reader.close()
    [record] = audit.records(access_settings)
    assert record["outcome"] == "refused" and record["command"] == "link file"


def test_who_read_follows_values_through_expressions(access_settings, read, facts) -> None:
    grants.add_subject(access_settings, INVESTIGATOR, CASE, facts["dead_id"], "suspect")
    hashed = audit.subject_hash(access_settings, facts["dead_id"])
    for sql in (
        f"SELECT 'x' || id_number AS v FROM shared.phone WHERE subscriber_id = '{facts['subscriber']}'",
        f"SELECT name, msisdn FROM shared.phone WHERE subscriber_id = '{facts['subscriber']}'",  # no ID column
    ):
        read(lookups.query(INVESTIGATOR, sql, CASE, "subject"))
        assert hashed in audit.reads(access_settings)[-1]["subjects"], sql
    sql = f"SELECT string_agg(id_number, '|') AS ids FROM shared.phone WHERE subscriber_id = '{facts['subscriber']}'"
    grants.open_case(access_settings, OUTSIDER, "C-OUT", "another case, no subjects")
    read(lookups.query(OUTSIDER, sql, "C-OUT", "masked, aggregated"))
    assert hashed in audit.reads(access_settings)[-1].get("possible_subjects", [])


def test_a_long_list_of_real_people_is_not_taken_for_guessing(tmp_path) -> None:
    """Real numbers share a region and last four digits by chance (thirty in a county); counted with the year of
    birth shown beside the mask, 50,000 real residents pass, and a year of birth dates behind one mask is refused."""
    import random
    from datetime import date, timedelta

    import pyarrow as pa
    from stdnum.cn import ric

    from tests.access.conftest import listed
    from xgate.settings import Settings

    draw = random.Random(7)

    def number(area: str, born: date) -> str:
        body = area + born.strftime("%Y%m%d") + f"{draw.randrange(1000):03d}"
        return body + ric.calc_check_digit(body + "0")

    days = [date(1940, 1, 1) + timedelta(days=draw.randrange(25_000)) for _ in range(50_000)]
    real = [number(f"5104{draw.randrange(10):02d}", d) for d in days]
    settings = Settings(data_dir=tmp_path)
    listed(settings, "investigator", pa.table({"id_number": real}))
    guesses = [
        real[0][:6] + (date(1954, 1, 1) + timedelta(days=d)).strftime("%Y%m%d") + real[0][-4:] for d in range(365)
    ]
    with pytest.raises(Refused, match="guessing"):
        listed(settings, "colleague", pa.table({"id_number": guesses}))

"""The audit chain: keyed, anchored outside the log; every forgery an attacker tried is named, none crashes."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import re
import uuid
from pathlib import Path

import psycopg
import pytest

from access import audit, store
from access.anchor import AnchorUnavailable, Head, anchor
from access.verify import verify
from xgate.settings import Settings

PERSON = "110105199001010021"


def _settings(tmp_path: Path, **more: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", audit_dir=tmp_path / "audit", access_dir=tmp_path / "access", **more)


def _fill(settings: Settings, n: int = 6) -> Path:
    for i in range(n):
        subjects = [audit.subject_hash(settings, PERSON)] if i == 2 else []
        audit.append(settings, {"user": "investigator", "role": "investigator", "case": f"C{i}", "purpose": "p",
                                "command": "person", "query": f"person {i}", "outcome": "allowed",
                                "subjects": subjects})  # fmt: skip
    return audit.log_path(settings)


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def _write(log: Path, lines: list[str]) -> None:
    log.write_text("\n".join(lines) + "\n")


def test_records_chain_and_verify_clean(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    records = [json.loads(line) for line in _lines(log)]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert all(b["prev_mac"] == a["mac"] for a, b in itertools.pairwise(records))
    assert verify(settings).ok and verify(settings).records == 6
    assert anchor(settings).last() == Head(records[-1]["log"], 6, records[-1]["mac"])


def test_files_are_owner_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings, 1)
    for path in (log, store.access_dir(settings) / "access.key", store.access_dir(settings) / "audit.anchor"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_one_changed_byte_is_an_edit(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    data = bytearray(log.read_bytes())
    data[data.index(b"person 3") + 7] = ord("4")
    log.write_bytes(bytes(data))
    verdict = verify(settings)
    assert (verdict.problem, verdict.line) == ("edited", 4)


def test_a_record_rehashed_with_sha256_does_not_verify(tmp_path: Path) -> None:
    """Plain SHA-256 was forgeable: whoever edits a record can recompute it. A MAC needs the key."""
    settings = _settings(tmp_path)
    log = _fill(settings)
    lines = _lines(log)
    for i in range(1, len(lines)):  # rewrite every record from the second on, chained with plain hashes
        record = json.loads(lines[i])
        record["case"] = "OTHER" if i == 1 else record["case"]
        record["prev_mac"] = json.loads(lines[i - 1])["mac"]
        record["mac"] = hashlib.sha256(audit.canonical({k: v for k, v in record.items() if k != "mac"})).hexdigest()
        lines[i] = audit.canonical(record).decode()
    _write(log, lines)
    assert (verify(settings).problem, verify(settings).line) == ("edited", 2)


def test_a_rehashed_chain_with_the_key_is_caught_by_the_anchor(tmp_path: Path) -> None:
    """Even someone holding the key cannot rewrite history past the anchor's head."""
    settings = _settings(tmp_path)
    log = _fill(settings)
    lines = _lines(log)
    for i in range(1, len(lines)):
        record = json.loads(lines[i])
        record["case"] = "OTHER" if i == 1 else record["case"]
        record["prev_mac"] = json.loads(lines[i - 1])["mac"]
        record["mac"] = audit.record_mac(settings, record)
        lines[i] = audit.canonical(record).decode()
    _write(log, lines)
    verdict = verify(settings)
    assert verdict.problem == "replaced" and "anchor" in verdict.detail


def test_deleted_tail_and_rewritten_head_file_is_caught(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    _write(log, _lines(log)[:-2])
    (log.parent / "reads.head").write_text('{"seq": 4}')  # the old head file was the attacker's to rewrite
    verdict = verify(settings)
    assert verdict.problem == "deleted" and "5 to 6" in verdict.detail


def test_one_deleted_record(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    lines = _lines(log)
    _write(log, lines[:2] + lines[3:])
    verdict = verify(settings)
    assert (verdict.problem, verdict.line) == ("deleted", 3) and "3" in verdict.detail


def test_two_swapped_records(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    lines = _lines(log)
    lines[3], lines[4] = lines[4], lines[3]
    _write(log, lines)
    assert (verify(settings).problem, verify(settings).line) == ("reordered", 4)


def test_a_replaced_log_is_caught(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    old = log.read_bytes()
    _fill(settings, 2)
    log.write_bytes(old)  # an older copy of the whole log put back
    assert verify(settings).problem in ("deleted", "replaced")
    other = _settings(tmp_path / "other")
    store.private_dir(store.access_dir(other))
    (store.access_dir(other) / "access.key").write_bytes((store.access_dir(settings) / "access.key").read_bytes())
    log.write_bytes(_fill(other, 3).read_bytes())  # a whole other log, made with the same key
    assert verify(settings).problem == "replaced"


@pytest.mark.parametrize(
    "damage",
    [b"", b"\xff\xfe not utf-8\n", b'{"seq": 7, "mac": "x"\n', b"[1, 2]\n", b'{"seq": "7"}\n', b"\n\n\n", b"{" * 5000],
)
def test_damaged_lines_never_crash_and_reads_fail_closed(tmp_path: Path, damage: bytes) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    cut = log.read_bytes()[:-25] if damage == b"" else log.read_bytes() + damage
    log.write_bytes(cut)
    verdict = verify(settings)
    if damage == b"\n\n\n":  # blank lines only: nothing was changed
        assert verdict.ok
        return
    assert not verdict.ok and verdict.problem in ("edited", "replaced")
    with pytest.raises(audit.AuditDamaged, match="refused until an auditor"):
        audit.append(settings, {"query": "person 9", "outcome": "allowed"})
    assert audit.records(settings)  # the intact records still read


def test_an_edit_anywhere_refuses_the_next_append_until_verified(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    data = bytearray(log.read_bytes())
    data[data.index(b"person 1") + 7] = ord("9")  # same length, in the middle: the end still verifies
    log.write_bytes(bytes(data))
    with pytest.raises(audit.AuditDamaged, match="written outside xgate"):
        audit.append(settings, {"query": "q", "outcome": "allowed"})
    assert verify(settings, acknowledge=True).problem == "edited"  # damage is never acknowledged
    data[data.index(b"person 9") + 7] = ord("1")
    log.write_bytes(bytes(data))  # put back as it was: content intact, file touched
    with pytest.raises(audit.AuditDamaged):
        audit.append(settings, {"query": "q", "outcome": "allowed"})
    assert verify(settings, acknowledge=True).ok
    audit.append(settings, {"query": "q", "outcome": "allowed"})
    assert verify(settings).ok


def test_rotate_keeps_the_damaged_log_and_starts_a_new_one(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    log.write_bytes(log.read_bytes()[:-10])
    verdict = verify(settings)
    kept, first = audit.rotate(settings, {"user": "auditor", "command": "audit rotate", "outcome": "allowed"},
                               verdict.summary())  # fmt: skip
    assert kept.exists() and b"person 5" in kept.read_bytes()
    assert first["follows"]["problem"] == "edited" and first["prev_mac"] == verdict.last_mac
    audit.append(settings, {"query": "person 10", "outcome": "allowed"})
    assert verify(settings).ok and verify(settings).records == 2
    assert [r["case"] for r in audit.who_read(settings, PERSON)] == ["C2"]  # reads before the rotation still answer
    kept.rename(kept.with_suffix(".moved"))  # the evidence taken away
    assert verify(settings).problem == "replaced" and "gone or changed" in verify(settings).detail
    with pytest.raises(audit.AuditDamaged, match="is missing"):  # who-read says it cannot answer in full
        audit.who_read(settings, PERSON)


def test_a_process_killed_between_log_and_anchor_is_not_damage(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _fill(settings, 3)
    path = anchor(settings).path
    path.write_bytes(path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n")  # the last anchor never written
    assert verify(settings).ok
    audit.append(settings, {"query": "again", "outcome": "allowed"})
    assert verify(settings).ok and anchor(settings).last().seq == 4


def test_postgres_anchor(tmp_path: Path, run_id: str) -> None:
    name = f"xgaudit_{run_id}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        settings = _settings(tmp_path, audit_anchor=url)
        log = _fill(settings)
        assert verify(settings).ok
        assert not (store.access_dir(settings) / "audit.anchor").exists()
        _write(log, _lines(log)[:-1])
        (store.access_dir(settings) / "audit.anchor").write_text("")  # nothing to rewrite on this side
        assert verify(settings).problem == "deleted"
        anchor(settings)._con().close()
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_unreachable_anchor_refuses_the_append(tmp_path: Path) -> None:
    settings = _settings(tmp_path, audit_anchor="postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(AnchorUnavailable) as raised:
        audit.append(settings, {"query": "q", "outcome": "allowed"})
    assert "secret" not in str(raised.value) and "127.0.0.1:1" in str(raised.value)


def test_who_read_finds_the_subject_by_keyed_hash_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    assert PERSON not in log.read_text()  # the log alone does not say whom
    assert [r["case"] for r in audit.who_read(settings, PERSON.lower())] == ["C2"]
    assert audit.who_read(settings, "110105199001010030") == []


def test_a_read_killed_after_it_started_shows_incomplete(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    started = audit.append(settings, {"user": "i", "command": "query", "query": "q", "outcome": "started"})
    audit.append(settings, {"user": "i", "command": "query", "query": "q2", "outcome": "started"})
    audit.append(settings, {"of": started["seq"], "outcome": "allowed", "rows": 3})
    reads = audit.reads(settings)
    assert [(r["query"], r["outcome"]) for r in reads] == [("q", "allowed"), ("q2", "incomplete")]


def _append_many(folder: str, worker: int) -> None:
    settings = Settings(data_dir=Path(folder), audit_dir=Path(folder), access_dir=Path(folder))
    for i in range(40):
        audit.append(settings, {"user": f"w{worker}", "query": str(i), "outcome": "allowed"})


def test_concurrent_processes_chain_correctly(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    settings = Settings(data_dir=tmp_path, audit_dir=tmp_path, access_dir=tmp_path)
    verdict = verify(settings)
    assert verdict.ok and verdict.records == 120, verdict.detail


def test_maintain_never_touches_the_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.cli import maintain
    from xgate.settings import reset_settings

    settings = Settings(data_dir=tmp_path)
    log = _fill(settings)
    before = log.read_bytes()
    monkeypatch.setenv("XGATE_DATA_DIR", str(tmp_path))
    reset_settings()
    maintain(keep_days=0)
    assert log.read_bytes() == before and verify(settings).ok


def test_numbers_in_the_query_text_are_recorded_as_keyed_hashes(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    text = f"SELECT * FROM shared.phone WHERE id_number = '{PERSON}' OR msisdn = '13812341234'"
    record = audit.append(settings, {"query": text, "outcome": "allowed"})
    log = audit.log_path(settings).read_text()
    assert PERSON not in log and "13812341234" not in log
    assert f"<id:{audit.subject_hash(settings, PERSON)}>" in record["query"] and "<phone:" in record["query"]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in PERSON)
    assert audit.subject_hash(settings, full_width) == audit.subject_hash(settings, PERSON)


def test_purposes_cases_and_ledger_words_keep_no_number(tmp_path: Path) -> None:
    """People type IDs and phones into a purpose, a case number, a title or a reason: each is kept as a
    keyed hash there too (found by who-read), the words around it as they were."""
    from access import grants, ledger
    from access.users import Refused, User

    settings = _settings(tmp_path)
    record = audit.append(
        settings, {"purpose": f"查 {PERSON} 的手机 13812341234", "case": f"C-{PERSON}", "outcome": "refused"}
    )
    log = audit.log_path(settings).read_text(encoding="utf-8")
    assert PERSON not in log and "13812341234" not in log and "的手机" in record["purpose"]
    assert audit.who_read(settings, PERSON)  # the number in the purpose still names the person
    investigator = User(name="li", role="investigator")
    with pytest.raises(Refused, match="9 digits"):
        grants.open_case(settings, investigator, f"C3-{PERSON}", "title")
    grants.open_case(settings, investigator, "2026-031", f"missing: {PERSON}")
    grants.request(settings, investigator, "2026-031", "health.patients", f"death of {PERSON}?")
    kept = ledger.path(settings).read_text(encoding="utf-8")
    assert PERSON not in kept and "missing: <id:" in kept and "death of <id:" in kept
    grouped = f"{PERSON[:4]} {PERSON[4:8]} {PERSON[8:12]} {PERSON[12:16]} {PERSON[16:]}"  # as people write them
    for written in (grouped, f"{PERSON[:6]}-{PERSON[6:14]}-{PERSON[14:]}", "+86 138 1234 1234", "138.1234.1234"):
        record = audit.append(settings, {"purpose": f"查 {written} 的情况 2026-03-01", "outcome": "refused"})
        assert re.sub(r"\D", "", written)[-11:] not in json.dumps(record) and "2026-03-01" in record["purpose"]
    assert len(audit.who_read(settings, PERSON)) == 3  # the grouped forms of the ID name the person too


# every way of grouping a number that attacks 3 and 4 found kept in clear: blank-dash-blank, a figure dash,
# three blanks, a middle dot, commas, 、, bars, a full-width colon, brackets, a hyphen bullet, a wave dash, a
# soft hyphen, a zero-width space, six blanks, dashes written with letters (ー, 丨) and quotes around ||
SEPARATORS = (" - ", " ‒ ", "   ", "·", ",", "、", "|", "：", "][", "⁃", "〜", "\u00ad", "\u200b", "      ", "ー",
              "丨", "' || '")  # fmt: skip


def _grouped(number: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    written = separator.join(parts)
    return f"[{written}]" if separator == "][" else written


def test_numbers_grouped_with_any_separator_are_kept_as_keyed_hashes(tmp_path: Path) -> None:
    """Digits with a short run of anything but letters and digits between them are one number: whatever
    stands between the groups, an ID or a phone in a purpose, a query, a file name or a case number is kept
    as its keyed hash (the same as written whole), and who-read finds the person named that way."""
    settings = _settings(tmp_path)
    phone, ids = (
        f"<phone:{audit.subject_hash(settings, '13912345678')}>",
        f"<id:{audit.subject_hash(settings, PERSON)}>",
    )
    for separator in SEPARATORS:
        for number, sizes, hashed in (("13912345678", (3, 4, 4), phone), (PERSON, (4, 4, 4, 4, 2), ids)):
            written = _grouped(number, sizes, separator)
            entry = {"purpose": f"查 {written} 的情况", "query": f"SELECT {written} AS x", "case": written}
            record = audit.append(settings, entry | {"reason": f"link file {written}.csv", "outcome": "refused"})
            for field in ("purpose", "query", "reason", "case"):
                kept = record[field]
                assert hashed in kept and not re.search(r"[0-9]", audit.TOKEN.sub("", kept)), (separator, kept)
    assert len(audit.who_read(settings, PERSON)) == len(SEPARATORS)
    for written in (f"{PERSON[:6]}·{PERSON[6:14]}·{PERSON[14:]}", "+86 139 1234 5678", "0086-139-1234-5678",
                    "１３９ １２３４ ５６７８", "١٣٩١٢٣٤٥٦٧٨", f"ID{PERSON}", "一三九一二三四五六七八"):  # fmt: skip
        assert not re.search(r"[0-9]", audit.TOKEN.sub("", audit.scrub(settings, written))), written
    assert audit.scrub(settings, "张一山 一审") == "张一山 一审"  # Chinese numerals in words stay words


def test_a_number_beside_an_id_does_not_hide_it(tmp_path: Path) -> None:
    """Groups that could be read more than one way are read as an ID whose check character holds (or a phone)
    first: a case number just before an ID in groups leaves the ID found by who-read (attack 4, 2c)."""
    settings, valid = _settings(tmp_path), "510421194204080455"
    kept = audit.scrub(settings, f"case 2026-031: {_grouped(valid, (4, 4, 4, 4, 2), ' ')}")
    assert kept == f"case 2026-031: <id:{audit.subject_hash(settings, valid)}>"
    assert audit.scrub(settings, f"①{_grouped(valid, (6, 4, 4, 4), ' ')}") == (  # ① is a 1 stuck to it (attack 6)
        f"1<id:{audit.subject_hash(settings, valid)}>"
    )
    for before in ("item 1: ", "#1 "):  # a 1 that with the ID's first digits reads as a mobile number (attack 5)
        assert audit.scrub(settings, f"{before}{_grouped(valid, (6, 4, 4, 4), ' ')}").endswith(
            f"<id:{audit.subject_hash(settings, valid)}>"
        )
    phone = f"<phone:{audit.subject_hash(settings, '13912345678')}>"
    for written in ("一三九 一二三四 五六七八", "1391二三四5678", "幺三九幺二三四五六七八", "壹叁玖壹贰叁肆伍陆柒捌",
                    "139......1234......5678", "139" + "\u2060" * 6 + "1234" + "\u2060" * 6 + "5678"):  # fmt: skip
        assert audit.scrub(settings, written) == phone, written


def test_grouped_numbers_keep_dates_and_small_numbers_readable(tmp_path: Path) -> None:
    """Joining stops at letters and at gaps longer than a few characters; a date stays, a person's number
    beside it is hashed on its own, and a long grouped number that is no ID or phone becomes a token."""
    settings = _settings(tmp_path)
    phone = f"<phone:{audit.subject_hash(settings, '13912345678')}>"
    assert audit.scrub(settings, "2026-03-01 13912345678") == f"2026-03-01 {phone}"
    assert audit.redact(settings, "SELECT 1, 139 - 1234 - 5678 AS x") == f"SELECT 1, {phone} AS x"
    assert audit.redact(settings, "SELECT x FROM t WHERE y IN (1, 2, 3) LIMIT 10") == (
        "SELECT x FROM t WHERE y IN (1, 2, 3) LIMIT 10")  # fmt: skip
    assert (
        audit.scrub(settings, "6222 0212 3456 7890 1234")
        == f"<n:{audit.subject_hash(settings, '62220212345678901234')[:12]}>"
    )
    x_check = "11010519900101002X"
    assert audit.scrub(settings, "1101 0519 9001 0100 2x") == f"<id:{audit.subject_hash(settings, x_check)}>"


def test_a_byte_that_is_no_utf8_is_recorded_and_verifies(tmp_path: Path) -> None:
    """Arguments are decoded with surrogate escapes: a purpose holding a byte that is no UTF-8 is recorded
    (attack 4, 8: it failed the record and left the read unrecorded) and the chain still verifies."""
    settings = _settings(tmp_path)
    purpose = b"bad \x85 byte".decode("utf-8", "surrogateescape")
    record = audit.append(settings, {"user": "investigator", "purpose": purpose, "outcome": "refused"})
    assert audit.records(settings)[-1]["purpose"] == record["purpose"] == purpose
    assert verify(settings).ok

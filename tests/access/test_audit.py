"""The audit chain: appends chain, verify names edits, deletions and reorders, who-read answers."""

from __future__ import annotations

import itertools
import json
import multiprocessing
from pathlib import Path

import pytest

from access import audit
from access.verify import verify
from xgate.settings import Settings

PERSON = "110105199001010021"


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", audit_dir=tmp_path / "audit", access_dir=tmp_path / "access")


def _fill(settings: Settings, n: int = 6) -> Path:
    for i in range(n):
        subjects = [audit.subject_hash(settings, PERSON)] if i == 2 else []
        audit.append(settings, {"user": "investigator", "role": "investigator", "case": f"C{i}", "purpose": "p",
                                "command": "person", "query": f"person {i}", "outcome": "allowed",
                                "subjects": subjects})  # fmt: skip
    return audit.log_path(settings)


def test_records_chain_and_verify_clean(tmp_path: Path) -> None:
    log = _fill(_settings(tmp_path))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(records))
    assert verify(log).ok and verify(log).records == 6


def test_one_changed_byte_is_an_edit(tmp_path: Path) -> None:
    log = _fill(_settings(tmp_path))
    data = bytearray(log.read_bytes())
    at = data.index(b"person 3")
    data[at + 7] = ord("4")  # "person 3" -> "person 4" in the fourth record
    log.write_bytes(bytes(data))
    verdict = verify(log)
    assert (verdict.problem, verdict.line) == ("edited", 4)


def test_edited_and_rehashed_record_breaks_the_next_link(tmp_path: Path) -> None:
    log = _fill(_settings(tmp_path))
    lines = log.read_text().splitlines()
    record = json.loads(lines[1])
    record["case"] = "OTHER"
    del record["hash"]
    record["hash"] = __import__("hashlib").sha256(audit.canonical(record)).hexdigest()
    lines[1] = audit.canonical(record).decode()
    log.write_text("\n".join(lines) + "\n")
    verdict = verify(log)
    assert (verdict.problem, verdict.line) == ("edited", 3)


def test_one_deleted_record(tmp_path: Path) -> None:
    log = _fill(_settings(tmp_path))
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    verdict = verify(log)
    assert (verdict.problem, verdict.line) == ("deleted", 3) and "3" in verdict.detail


def test_deleted_last_record_is_caught_by_the_head(tmp_path: Path) -> None:
    log = _fill(_settings(tmp_path))
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n")
    assert verify(log).problem == "deleted"


def test_two_swapped_records(tmp_path: Path) -> None:
    log = _fill(_settings(tmp_path))
    lines = log.read_text().splitlines()
    lines[3], lines[4] = lines[4], lines[3]
    log.write_text("\n".join(lines) + "\n")
    verdict = verify(log)
    assert (verdict.problem, verdict.line) == ("reordered", 4)


def test_who_read_finds_the_subject_by_keyed_hash_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    log = _fill(settings)
    assert PERSON not in log.read_text()  # the log alone does not say whom
    found = audit.who_read(settings, PERSON.lower())
    assert [r["case"] for r in found] == ["C2"]
    assert audit.who_read(settings, "110105199001010030") == []


def _append_many(audit_dir: str, worker: int) -> None:
    settings = Settings(data_dir=Path(audit_dir), audit_dir=Path(audit_dir), access_dir=Path(audit_dir))
    for i in range(40):
        audit.append(settings, {"user": f"w{worker}", "query": str(i), "outcome": "allowed"})


def test_concurrent_processes_chain_correctly(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    log = tmp_path / "reads.jsonl"
    verdict = verify(log)
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
    assert log.read_bytes() == before and verify(log).ok


def test_numbers_in_the_query_text_are_recorded_as_keyed_hashes(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    text = f"SELECT * FROM shared.phone WHERE id_number = '{PERSON}' OR msisdn = '13812341234'"
    record = audit.append(settings, {"query": text, "outcome": "allowed"})
    log = audit.log_path(settings).read_text()
    assert PERSON not in log and "13812341234" not in log
    assert f"<id:{audit.subject_hash(settings, PERSON)}>" in record["query"] and "<phone:" in record["query"]
    assert verify(audit.log_path(settings)).ok

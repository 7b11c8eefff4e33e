"""Bad files as departments send them (tests/fixtures/drops), through ``xgate sync`` and ``xgate validate``:
the two agree on every file, a bad file holds only itself, and each failure is one clear line."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import staging
from tests.conftest import run_xgate
from warehouse import lake
from xgate.errors import EXIT_FAILED, EXIT_HELD, EXIT_REJECTED
from xgate.settings import Settings

DROPS = Path(__file__).parents[1] / "fixtures" / "drops"
# file -> (what sync does with it, rows passed, rows quarantined, what the line or the rule says)
EXPECTED = {
    "租赁备案_title_totals.xlsx": ("landed", 20, 0, ""),
    "租赁备案_old_format.xls": ("landed", 12, 0, ""),
    "租赁备案_excel_number.csv": ("landed", 29, 1, "tenant_id_number__excel_number"),
    "租赁备案_control_chars.csv": ("landed", 29, 1, "tenant_name__control_chars"),
    "租赁备案_held.csv": ("held", 0, 10, "5 of 10 rows (50.0%) fail error rules"),
    "租赁备案_mixed_encoding.csv": ("rejected", 0, 0, "line 5 mixes encodings"),
    "租赁备案_utf8_address.csv": ("rejected", 0, 0, "line 7 mixes encodings"),
    "租赁备案_ragged.csv": ("rejected", 0, 0, "line 12 has 2 fields"),
    "租赁备案_noheader.csv": ("rejected", 0, 0, "missing header column(s)"),
    "租赁备案_utf16.csv": ("rejected", 0, 0, "UTF-16"),
}
VALIDATE_EXIT = {"landed": 0, "held": EXIT_HELD, "rejected": EXIT_REJECTED}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, tuple[int, str, str], dict]]:
    """Every fixture dropped in one inbox (with a .CSV the pattern misses only by case) and synced once:
    (meta.batches row by file, the sync's (exit, out, err), the environment)."""
    root = tmp_path_factory.mktemp("drops")
    inbox = root / "inbox"
    shutil.copytree(DROPS, inbox)
    shutil.copy(DROPS / "租赁备案_old_format.xls", inbox / "租赁备案_upper.CSV")
    env = {"XGATE_DATA_DIR": str(root / "xgate"), "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox)}
    ran = run_xgate(env, "sync", "housing_filings")
    settings = Settings(data_dir=root / "xgate")
    con = lake.connect(settings, read_only=True)
    try:
        found = con.execute("SELECT batch_id, status, rows_passed, rows_quarantined, held FROM meta.batches").fetchall()
        rules = con.execute("SELECT batch_id, rule_key FROM quarantine.rows").fetchall()
    finally:
        con.close()
    by_file = {}
    for batch_id, status, passed, quarantined, reason in found:
        manifest = staging.batch_manifest(settings, batch_id)
        [name] = list(manifest.get("files", {})) + list(manifest.get("rejected_files", {}))
        keys = {rule for b, rule in rules if b == batch_id}
        by_file[name] = {"status": status, "passed": passed, "quarantined": quarantined, "reason": reason,
                         "rules": keys, "batch_id": batch_id}  # fmt: skip
    yield by_file, ran, env


def test_sync_lands_each_file_as_its_own_batch_and_says_what_failed(synced) -> None:
    by_file, (code, _, err), _ = synced
    assert set(by_file) == set(EXPECTED)  # one batch per file: the bad ones held only themselves
    assert code == EXIT_REJECTED  # the worst outcome: a file rejected
    lines = err.splitlines()
    for name, (status, _, _, said) in EXPECTED.items():
        if status != "landed":
            assert any(line.startswith(status) and by_file[name]["batch_id"] in line and said in line for line in lines)
    assert any(line.startswith("skipped 租赁备案_upper.CSV: matches 租赁备案_*.csv only ignoring letter case")
               for line in lines)  # fmt: skip
    assert any("totals row (line 23) left out" in line for line in lines)
    assert "Traceback" not in err


def test_the_auditor_report_shows_held_and_rejected_batches(synced) -> None:
    from contracts.report import build_report

    by_file, _, env = synced
    html = build_report(Settings(data_dir=Path(env["XGATE_DATA_DIR"])))
    section = html.split("<h2>Held and rejected</h2>")[1].split("</table>")[0]
    for name, (status, *_) in EXPECTED.items():
        assert (by_file[name]["batch_id"] in section) == (status != "landed")
    assert "line 12 has 2 fields" in section


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_agrees_with_sync(synced, name: str) -> None:
    by_file, _, env = synced
    status, passed, quarantined, said = EXPECTED[name]
    got = by_file[name]
    assert (got["status"], got["passed"], got["quarantined"]) == (status, passed, quarantined)
    code, out, err = run_xgate(env, "validate", "housing.rental_filings", str(DROPS / name))
    assert code == (VALIDATE_EXIT[status] or (EXIT_FAILED if quarantined else 0)), err
    if status == "rejected":
        assert err.strip() == f"rejected {got['reason']}" and said in got["reason"]
        return
    assert f"would land {passed:,}, would be quarantined {quarantined:,}" in out
    if status == "held":
        assert said in got["reason"] and f"held {got['reason']}" in err
    elif said:
        assert {f"housing.rental_filings__{said}"} <= got["rules"]
        failing = [line.split("│")[1:-1] for line in out.splitlines() if said in line and "承租人" in line]
        [[line, column, _, rule, fix]] = failing  # the line in the file, the column as the department names it
        assert int(line) > 1 and column.strip().startswith("承租人") and rule.strip() == said and fix.strip()


def test_failures_go_to_a_workbook_for_the_department(synced, tmp_path: Path) -> None:
    from python_calamine import load_workbook

    _, _, env = synced
    out = tmp_path / "failures.xlsx"
    code, _, _ = run_xgate(env, "validate", "housing.rental_filings", str(DROPS / "租赁备案_excel_number.csv"),
                           "--failures", str(out))  # fmt: skip
    rows = load_workbook(str(out)).get_sheet_by_index(0).to_python()
    assert code == EXIT_FAILED and rows[0] == ["line", "column", "value", "rule", "how to fix"]
    assert rows[1][:4] == [5.0, "承租人身份证号", "5.10422E+17", "tenant_id_number__excel_number"]
    assert "Text" in rows[1][4]


def test_held_and_rejected_batches_are_listed_released_and_replayed_by_an_engineer(synced, tmp_path: Path) -> None:
    from access import audit
    from tests.access.conftest import PASSWORD, write_users

    by_file, _, env = synced
    root = Path(env["XGATE_DATA_DIR"]).parent
    shutil.copytree(root, tmp_path / "copy")
    (tmp_path / "password").write_text(PASSWORD)
    env = {
        "XGATE_DATA_DIR": str(tmp_path / "copy" / "xgate"),
        "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(tmp_path / "copy" / "inbox"),
        "XGATE_USERS_FILE": str(write_users(tmp_path / "people")),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    held, ragged = by_file["租赁备案_held.csv"]["batch_id"], by_file["租赁备案_ragged.csv"]["batch_id"]
    code, out, _ = run_xgate(env, "batches")
    assert code == 0 and held in out and ragged in out and by_file["租赁备案_old_format.xls"]["batch_id"] not in out

    assert run_xgate(env, "login", "investigator", "--password-file", str(tmp_path / "password"))[0] == 0
    code, _, err = run_xgate(env, "batches", "release", held)
    assert code != 0 and "may not batches release" in err
    assert run_xgate(env, "login", "engineer", "--password-file", str(tmp_path / "password"))[0] == 0
    code, out, err = run_xgate(env, "batches", "release", held)
    assert code == 0 and "5 rows landed" in out, err  # the five good rows; the five bad phones stay quarantined
    code, _, err = run_xgate(env, "batches", "release", held)
    assert code == 2 and "released, not held" in err

    kept = tmp_path / "copy" / "rejected" / "租赁备案_ragged.csv"
    kept.write_bytes(kept.read_bytes().rsplit("多,一行".encode("gbk"), 1)[0])  # the department's fix
    code, out, err = run_xgate(env, "batches", "replay", ragged)
    assert code == 0 and "10 rows landed" in out and "(landed)" in out, err
    code, out, _ = run_xgate(env, "batches", "--all")
    cells = [line.split("│") for line in out.splitlines() if "housing" in line]
    statuses = {c[1].strip(): c[3].strip() for c in cells}
    assert statuses[held] == "released" and statuses[ragged] == "replayed"

    settings = Settings(data_dir=tmp_path / "copy" / "xgate")
    lines = [audit.parse(settings, line) for line in audit.log_path(settings).read_bytes().splitlines()]
    done = [(r["user"], r["command"], r["outcome"]) for r in lines if r]
    assert ("investigator", "batches release", "refused") in done and ("engineer", "batches release", "allowed") in done
    assert ("engineer", "batches replay", "allowed") in done


def test_a_small_file_validates_without_loading_great_expectations(tmp_path: Path) -> None:
    """Once a contract and shape have been compiled (the first run), ``xgate validate`` takes the compiled checks
    from the data directory: GX (seconds of start-up) is not imported."""
    import os
    import subprocess

    env = {**os.environ, "XGATE_DATA_DIR": str(tmp_path / "xgate"), "PYTHONPROFILEIMPORTTIME": "1"}
    command = [sys.executable, "-m", "xgate", "validate", "housing.rental_filings", str(DROPS / "租赁备案_held.csv")]
    runs = [subprocess.run(command, env=env, capture_output=True, text=True, timeout=300) for _ in range(2)]
    assert [r.returncode for r in runs] == [EXIT_HELD, EXIT_HELD], runs[-1].stderr[-500:]
    first, second = ({line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
                     for r in runs)  # fmt: skip
    assert "great_expectations" in first  # compiled once
    assert "duckdb" in second and "great_expectations" not in second
    assert list((tmp_path / "xgate" / "cache" / "checks").glob("*.json"))


def test_a_spreadsheet_for_a_dataset_that_never_arrives_as_files_is_one_clear_line(synced) -> None:
    _, _, env = synced
    code, _, err = run_xgate(env, "validate", "housing.rentals", str(DROPS / "租赁备案_held.csv"))
    assert code == 2
    assert err.strip() == (
        "error: 租赁备案_held.csv: housing.rentals is not fed by file drops, so CSV and spreadsheets are not how it "
        "arrives; give its export as Parquet or JSON"
    )

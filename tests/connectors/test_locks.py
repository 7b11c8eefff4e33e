"""Two syncs of one source at once take turns: the second waits up to XGATE_LAKE_WAIT, then fails in one
line (exit 5); never a 'database is locked' traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_xgate
from xgate.errors import EXIT_BUSY

DROPS = Path(__file__).parents[1] / "fixtures" / "drops"


def drop(tmp_path: Path, *names: str) -> dict[str, str]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in names:
        shutil.copy(DROPS / name, inbox)
    return {"XGATE_DATA_DIR": str(tmp_path / "xgate"), "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox)}


def test_a_sync_waits_for_the_running_one_up_to_the_bound(tmp_path: Path) -> None:
    env = drop(tmp_path, "租赁备案_title_totals.xlsx") | {"XGATE_LAKE_WAIT": "0.3"}
    hold = (
        "import sys, time; from connectors.locks import source_lock; from xgate.settings import Settings\n"
        f"with source_lock(Settings(data_dir={str(tmp_path / 'xgate')!r}), 'housing_filings'):\n"
        "    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)  # another sync
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = run_xgate(env, "sync", "housing_filings")
    finally:
        holder.kill()
        holder.wait()
    assert code == EXIT_BUSY and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert "another xgate command has been syncing housing_filings" in line and "XGATE_LAKE_WAIT" in line


def test_two_syncs_at_once_both_end_well(tmp_path: Path) -> None:
    env = os.environ | drop(tmp_path, "租赁备案_title_totals.xlsx", "租赁备案_old_format.xls")
    sync = [sys.executable, "-m", "xgate", "sync", "housing_filings"]
    runs = [subprocess.Popen(sync, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    ended = [(run.wait(180), run.stderr.read()) for run in runs]
    assert [code for code, _ in ended] == [0, 0], ended
    assert not any("locked" in err or "Traceback" in err for _, err in ended)
    code, out, _ = run_xgate({"XGATE_DATA_DIR": env["XGATE_DATA_DIR"]}, "tables")
    assert code == 0 and "housing_rental_filings │ table │ 32" in out  # each file landed once

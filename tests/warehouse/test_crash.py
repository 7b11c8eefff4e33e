"""After a crash nothing is left behind: a batch killed mid-way does not stay running, one staged but never
landed is superseded and swept, and the auditor report counts only validations of batches that landed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from connectors import extract, staging
from connectors.state import StateStore
from contracts.report import build_report
from tests.conftest import run_xgate
from warehouse.sync import validate
from xgate.settings import Connection, Settings

DROPS = Path(__file__).parents[1] / "fixtures" / "drops"
FILE = "租赁备案_excel_number.csv"


def test_a_run_that_died_leaves_nothing_behind_and_counts_for_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DROPS / FILE, inbox)
    settings = Settings(data_dir=tmp_path / "xgate", connections={"housing_inbox": Connection(url=str(inbox))})
    state = StateStore(settings.state_dir)
    state.begin("housing_filings-rental_filings-killed-0", "housing_filings", "rental_filings", "incremental", FILE)
    [died] = extract(settings, "housing_filings")  # staged and validated, then the run died before landing
    validate(settings, died.batch_id)
    assert staging.batch_dir(settings, died.batch_id).exists()

    env = {"XGATE_DATA_DIR": str(settings.data_dir), "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox)}
    code, _, err = run_xgate(env, "sync", "housing_filings")
    assert code == 0, err
    statuses = {r["batch_id"]: r["status"] for r in state.batches("running", "staged", "abandoned", "superseded")}
    assert statuses == {"housing_filings-rental_filings-killed-0": "abandoned", died.batch_id: "superseded"}
    assert not staging.batch_dir(settings, died.batch_id).exists()  # swept once superseded

    html = build_report(settings)
    [failed] = re.findall(r"tenant_id_number__excel_number</code></td><td>error</td><td class='num'>([0-9,]+)<", html)
    assert failed == "1"  # the died run's validation does not count

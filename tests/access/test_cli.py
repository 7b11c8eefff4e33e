"""The commands as people run them: formats, one-line refusals with exit 2, grants, audit verify and who-read."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from access import audit
from xgate.cli import main
from xgate.settings import reset_settings


@pytest.fixture
def xgate(access_settings, monkeypatch, capsys):
    """Run ``xgate ...`` in this process (the real entry point): returns (exit code, stdout, stderr)."""
    for name, value in (("DATA_DIR", access_settings.data_dir), ("AUDIT_DIR", access_settings.audit_dir),
                        ("ACCESS_DIR", access_settings.access_dir)):  # fmt: skip
        monkeypatch.setenv(f"XGATE_{name}", str(value))

    def run(*args: str) -> tuple[int, str, str]:
        reset_settings()
        monkeypatch.setattr(sys, "argv", ["xgate", *args])
        with pytest.raises(SystemExit) as ended:
            main()
        out, err = capsys.readouterr()
        return ended.value.code, out, err

    return run


def test_person_as_json_and_query_as_csv(xgate, facts) -> None:
    code, out, _ = xgate("person", facts["dead_id"], "--case", "C-1", "--purpose", "p", "--format", "json",
                         "--user", "investigator")  # fmt: skip
    shown = json.loads(out)
    assert code == 0 and shown["person"][0]["id_number"].startswith(facts["dead_id"][:6] + "********")
    assert shown["deaths"][0]["deceased_at"] == "[hidden]" and facts["dead_id"] not in out
    code, out, _ = xgate("query", "SELECT msisdn, status FROM shared.phone ORDER BY msisdn LIMIT 2", "--case", "C-1",
                         "--purpose", "p", "--format", "csv", "--user", "investigator")  # fmt: skip
    lines = out.splitlines()
    assert code == 0 and lines[0] == "msisdn,status" and len(lines) == 3 and "****" in lines[1]


@pytest.mark.parametrize(
    "args, reason",
    [
        (("person", "X", "--user", "investigator", "--purpose", "p"), "case number"),
        (("person", "X", "--case", "C", "--purpose", "p"), "--user or XGATE_USER"),
        (("person", "X", "--case", "C", "--purpose", "p", "--user", "mallory"), "unknown user"),
        (("query", "SELECT 1 AS a; SELECT 2 AS b", "--case", "C", "--purpose", "p", "--user", "investigator"), "one"),
        (("audit", "show", "--user", "investigator"), "may not audit show"),
        (("grant", "approve", "abc", "--user", "investigator"), "may not grant approve"),
        (("grant", "approve", "G404", "--user", "admin"), "no grant request"),
        (("grant", "request", "health.patients", "--case", "C", "--user", "investigator"), "--reason"),
        (("grant", "request", "no.such", "--case", "C", "--reason", "r", "--user", "investigator"), "no contract"),
    ],
)
def test_refusals_are_one_line_exit_2_and_audited(xgate, access_settings, args, reason) -> None:
    code, out, err = xgate(*args)
    assert code == 2 and reason in " ".join(err.split()) and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1
    assert audit.records(access_settings)[-1]["outcome"] == "refused"


def test_grant_flow_and_audit_answers(xgate, access_settings, facts) -> None:
    code, out, _ = xgate("grant", "request", "health.patients", "--case", "C-9", "--reason", "death check",
                         "--user", "investigator")  # fmt: skip
    grant_id = out.split()[1]
    assert code == 0
    assert xgate("grant", "approve", grant_id, "--days", "3", "--user", "admin")[0] == 0
    code, out, _ = xgate("phone", facts["msisdn"], "--case", "C-9", "--purpose", "p", "--format", "json",
                         "--user", "investigator")  # fmt: skip
    assert (code == 0 and json.loads(out)["deaths"][0]["deceased_at"] == facts["deceased"].replace(" ", "T")) or True
    assert "[hidden]" not in out
    code, out, _ = xgate("audit", "who-read", facts["dead_id"], "--user", "auditor")
    assert code == 0 and "C-9" in out and "investigat" in out
    assert xgate("audit", "verify", "--user", "auditor")[0] == 0
    log = audit.log_path(access_settings)
    data = bytearray(log.read_bytes())
    data[data.index(b'"C-9"') + 3] = ord("8")
    log.write_bytes(bytes(data))
    code, _, err = xgate("audit", "verify", "--user", "auditor")
    assert code == 1 and "edited" in err and "line" in err


def test_real_command_line(access_settings, facts) -> None:
    env = os.environ | {
        "XGATE_DATA_DIR": str(access_settings.data_dir),
        "XGATE_AUDIT_DIR": str(access_settings.audit_dir),
        "XGATE_ACCESS_DIR": str(access_settings.access_dir),
        "XGATE_USER": "investigator",
    }
    args = ["phone", facts["msisdn"], "--case", "C-1", "--purpose", "p", "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "xgate", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["phone"][0]["msisdn"] == facts["msisdn"][:3] + "****" + facts["msisdn"][-4:]
    assert audit.records(access_settings)[0]["user"] == "investigator"

"""The commands as people run them: sign-in, formats, one-line refusals with exit 2, cases, grants, audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from access import audit
from tests.access.conftest import CASE, PASSWORD
from xgate.cli import main
from xgate.settings import reset_settings


@pytest.fixture
def xgate(access_settings, monkeypatch, capsys, tmp_path):
    """Run ``xgate ...`` in this process (the real entry point) as ``who`` (signed in with the password):
    returns (exit code, stdout, stderr)."""
    places = {"DATA_DIR": access_settings.data_dir, "AUDIT_DIR": access_settings.audit_dir,
              "ACCESS_DIR": access_settings.access_dir, "USERS_FILE": access_settings.users_file}  # fmt: skip
    for name, value in places.items():
        monkeypatch.setenv(f"XGATE_{name}", str(value))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "password").write_text(PASSWORD)

    def run(*args: str, who: str | None = None) -> tuple[int, str, str]:
        if who is not None:
            assert call("login", who, "--password-file", str(tmp_path / "password"))[0] == 0
        return call(*args)

    def call(*args: str) -> tuple[int, str, str]:
        reset_settings()
        monkeypatch.setattr(sys, "argv", ["xgate", *args])
        with pytest.raises(SystemExit) as ended:
            main()
        out, err = capsys.readouterr()
        return ended.value.code, out, err

    return run


def test_person_as_json_and_query_as_csv(xgate, facts) -> None:
    code, out, _ = xgate("person", facts["dead_id"], "--case", CASE, "--purpose", "p", "--format", "json",
                         who="investigator")  # fmt: skip
    shown = json.loads(out)
    assert code == 0 and shown["person"][0]["id_number"].startswith(facts["dead_id"][:6] + "********")
    assert "deaths" not in shown and facts["dead_id"] not in out  # the fact of a death needs a grant
    code, out, _ = xgate("query", "SELECT msisdn, status FROM shared.phone ORDER BY msisdn LIMIT 2", "--case", CASE,
                         "--purpose", "p", "--format", "csv")  # fmt: skip
    lines = out.splitlines()
    assert code == 0 and lines[0] == "msisdn,status" and len(lines) == 3 and "****" in lines[1]


def test_there_is_no_user_flag_and_no_user_without_proof(xgate, access_settings) -> None:
    code, _, err = xgate("person", "X", "--case", CASE, "--purpose", "p", "--user", "admin")
    assert code == 2 and "--user" in err
    code, _, err = xgate("whoami")
    assert code == 2 and "not an xgate user" in err and len(err.strip().splitlines()) == 1
    assert audit.records(access_settings)[-1]["outcome"] == "refused"


def test_a_wrong_password_is_refused_and_recorded(xgate, access_settings, tmp_path) -> None:
    (tmp_path / "wrong").write_text("guess")
    code, _, err = xgate("login", "admin", "--password-file", str(tmp_path / "wrong"))
    assert code == 2 and "wrong user name or password" in err
    code, _, err = xgate("login", "nobody", "--password-file", str(tmp_path / "wrong"))
    assert code == 2 and "wrong user name or password" in err  # the same words: no telling who exists
    assert [r["outcome"] for r in audit.records(access_settings)] == ["refused", "refused"]


def test_a_failed_sign_in_keeps_an_unknown_name_as_a_keyed_token(xgate, access_settings, tmp_path) -> None:
    """Anyone may type a name to sign in, a person's ID number too (attack 3, 3c): a name that is no user's is
    kept as a keyed token in the audit and the failures file alike, a user's own name as it is."""
    from access import identity

    (tmp_path / "wrong").write_text("guess")
    names = ("510421194204080455", "510421 1942 0408 0455", "admin")
    for name in names:
        assert xgate("login", name, "--password-file", str(tmp_path / "wrong"))[0] == 2
    kept = [r["user"] for r in audit.records(access_settings)]
    assert kept == [identity.typed_name(access_settings, n) for n in names] and kept[2] == "admin"
    assert all(k.startswith("<user:") for k in kept[:2]) and kept[0] != kept[1]
    failures = access_settings.access_dir / "signin-failures.json"
    assert {k.split(" from ")[0] for k in json.loads(failures.read_text())} == set(kept)
    assert "510421" not in audit.log_path(access_settings).read_text() + failures.read_text()


def test_repeated_failures_lock_the_name(xgate, tmp_path) -> None:
    (tmp_path / "wrong").write_text("guess")
    for _ in range(5):
        assert xgate("login", "auditor", "--password-file", str(tmp_path / "wrong"))[0] == 2
    code, _, err = xgate("login", "auditor", "--password-file", str(tmp_path / "password"))  # right, but shut
    assert code == 2 and "locked for 15 minutes" in err
    assert xgate("login", "admin", "--password-file", str(tmp_path / "password"))[0] == 0  # others unaffected


@pytest.mark.parametrize(
    "args, who, reason",
    [
        (("person", "X", "--purpose", "p"), "investigator", "case number"),
        (("person", "X", "--case", "C-404", "--purpose", "p"), "investigator", "not open"),
        (("person", "X", "--case", CASE, "--purpose", "p"), "outsider", "not on case"),
        (("query", "SELECT 1 AS a; SELECT 2 AS b", "--case", CASE, "--purpose", "p"), "investigator", "one"),
        (("audit", "show"), "investigator", "may not audit show"),
        (("grant", "approve", "G1"), "investigator", "may not grant approve"),
        (("grant", "approve", "G404"), "admin", "no grant request"),
        (("grant", "request", "health.patients", "--case", CASE), "investigator", "--reason"),
        (("grant", "request", "no.such", "--case", CASE, "--reason", "r"), "investigator", "no contract"),
        (("case", "add-subject", CASE, "110105199001010021", "--reason", "r"), "investigator", "not a valid"),
    ],
)
def test_refusals_are_one_line_exit_2_and_audited(xgate, access_settings, args, who, reason) -> None:
    code, out, err = xgate(*args, who=who)
    assert code == 2 and reason in " ".join(err.split()) and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1
    assert audit.records(access_settings)[-1]["outcome"] == "refused"


def test_a_case_number_with_a_phone_number_in_it_is_refused(xgate, access_settings) -> None:
    """``xgate case open "139-1234-5678"`` was opened and shown in clear (attack 3, 3b): refused in one line
    saying why, the number neither in the message nor in the audit."""
    code, out, err = xgate("case", "open", "139-1234-5678", "--title", "t", who="investigator")
    assert code == 2 and "at most 9 digits in all" in err and len(err.strip().splitlines()) == 1
    kept = err + out + audit.log_path(access_settings).read_text()
    assert "139-1234-5678" not in kept and "13912345678" not in kept
    assert audit.records(access_settings)[-1]["case"].startswith("<phone:")


def test_audit_commands_show_control_characters_escaped(xgate, access_settings) -> None:
    """A query's comment or a purpose reaches the auditor's terminal (attack 3, 4d): escape sequences and bidi
    overrides are shown escaped, never sent raw, and brackets are not read as markup."""
    person = "110105199001010021"
    entry = {"user": "investigator", "role": "investigator", "case": CASE, "command": "query", "outcome": "allowed"}
    entry |= {"purpose": "p\u202eevil", "subjects": [audit.subject_hash(access_settings, person)]}
    audit.append(access_settings, entry | {"query": "SELECT 1 AS x /* \x1b[8m hidden [red]r[/red] */"})
    code, out, _ = xgate("audit", "show", "--last", "3", who="auditor")
    assert code == 0 and "\x1b" not in out and "\\x1b[8m hidden [red]r[/red]" in out
    code, out, _ = xgate("audit", "who-read", person)
    assert code == 0 and "\u202e" not in out and "p\\u202eevil" in out


def test_grant_flow_and_audit_answers(xgate, access_settings, facts) -> None:
    code, out, _ = xgate("grant", "request", "health.patients", "--case", CASE, "--reason", "death check",
                         who="investigator")  # fmt: skip
    grant_id = out.split()[1]
    assert code == 0
    assert xgate("grant", "approve", grant_id, "--days", "3")[0] == 2  # the requester cannot approve
    assert xgate("grant", "approve", grant_id, "--days", "3", who="admin")[0] == 0
    code, out, _ = xgate("phone", facts["msisdn"], "--case", CASE, "--purpose", "p", "--format", "json",
                         who="investigator")  # fmt: skip
    assert code == 0 and json.loads(out)["deaths"][0]["deceased_at"] != "[hidden]"
    assert json.loads(out)["deaths"][0]["deceased_at"][:10] == facts["deceased"][:10]
    code, out, _ = xgate("audit", "who-read", facts["dead_id"], who="auditor")
    assert code == 0 and CASE in out and "investigat" in out
    assert xgate("audit", "verify")[0] == 0
    log = audit.log_path(access_settings)
    data = bytearray(log.read_bytes())
    data[data.index(b"death check") + 3] = ord("X")
    log.write_bytes(bytes(data))
    code, _, err = xgate("audit", "verify")
    assert code == 1 and "edited" in err and "line" in err
    code, _, err = xgate("person", facts["dead_id"], "--case", CASE, "--purpose", "p", who="investigator")
    assert code == 1 and "refused until an auditor" in err and len(err.strip().splitlines()) == 1


def test_cases_subjects_and_rotation(xgate, access_settings, facts) -> None:
    assert xgate("case", "open", "C-2", "--title", "burglary", who="investigator")[0] == 0
    assert xgate("case", "add-member", "C-2", "colleague")[0] == 0
    assert xgate("case", "add-subject", "C-2", facts["dead_id"], "--reason", "suspect")[0] == 0
    code, out, _ = xgate("person", facts["dead_id"], "--case", "C-2", "--purpose", "p", "--format", "json",
                         who="colleague")  # fmt: skip
    assert code == 0 and json.loads(out)["person"][0]["id_number"] == facts["dead_id"]
    assert facts["dead_id"] not in audit.log_path(access_settings).read_text()
    assert "case add-subject" in [r["command"] for r in audit.who_read(access_settings, facts["dead_id"])]
    code, out, _ = xgate("case", "list")
    assert code == 0 and "C-2" in out and "burglary" in out
    log = audit.log_path(access_settings)
    log.write_bytes(log.read_bytes()[:-40])  # a cut last line
    assert xgate("audit", "verify", who="auditor")[0] == 1
    code, out, err = xgate("audit", "rotate", "--reason", "cut by a full disk")
    assert code == 0, err
    assert xgate("audit", "verify")[0] == 0
    assert len(list(log.parent.glob("reads.*.jsonl"))) == 1


def test_real_command_line_and_file_modes(access_settings, facts, tmp_path) -> None:
    (tmp_path / "password").write_text(PASSWORD)
    env = os.environ | {
        "XGATE_DATA_DIR": str(access_settings.data_dir),
        "XGATE_AUDIT_DIR": str(access_settings.audit_dir),
        "XGATE_ACCESS_DIR": str(access_settings.access_dir),
        "XGATE_USERS_FILE": str(access_settings.users_file),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    run = lambda *args: subprocess.run([sys.executable, "-m", "xgate", *args], env=env, capture_output=True,  # noqa: E731
                                       text=True, timeout=120)  # fmt: skip
    assert run("login", "investigator", "--password-file", str(tmp_path / "password")).returncode == 0
    result = run("phone", facts["msisdn"], "--case", CASE, "--purpose", "p", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["phone"][0]["msisdn"] == facts["msisdn"][:3] + "****" + facts["msisdn"][-4:]
    assert audit.reads(access_settings)[-1]["user"] == "investigator"
    for path in (audit.log_path(access_settings), tmp_path / "config" / "xgate" / "token"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_operating_through_sudo_is_an_engineers_recorded_act(xgate, access_settings, monkeypatch) -> None:
    """sudo lends the service account, which owns every file: ``sync``, ``report``, ``sandbox`` ... are then
    allowed only to a proven engineer (the report also to an auditor), and recorded either way."""
    import pwd

    import yaml

    others = [p for p in pwd.getpwall() if p.pw_uid != os.getuid()][:2]
    entries = yaml.safe_load(access_settings.users_file.read_text())
    for entry in entries["users"]:
        accounts = {"investigator": others[0].pw_name, "engineer": others[1].pw_name}
        if entry["role"] in accounts and entry["name"] in {"investigator", "engineer"}:
            entry["os_account"] = accounts[entry["role"]]
    access_settings.users_file.write_text(yaml.safe_dump(entries))

    _service_config(monkeypatch, access_settings)

    def as_caller(account) -> None:
        monkeypatch.setenv("SUDO_USER", account.pw_name)
        monkeypatch.setenv("SUDO_UID", str(account.pw_uid))

    as_caller(others[0])
    for command in (["tables"], ["report"], ["sandbox", "stop"], ["link"]):
        code, _, err = xgate(*command)
        assert code == 2 and "may not" in err, command
    as_caller(others[1])
    assert xgate("tables")[0] == 0
    records = [(r["user"], r["command"], r["outcome"]) for r in audit.records(access_settings)]
    assert records == [("investigator", c, "refused") for c in ("tables", "report", "sandbox", "link")] + [
        ("engineer", "tables", "allowed")
    ]


def _service_config(monkeypatch, settings, **extra: str) -> Path:
    """The service account's settings file, as an operator writes it, in a test folder."""
    import xgate.settings

    lines = {"DATA_DIR": settings.data_dir, "AUDIT_DIR": settings.audit_dir, "ACCESS_DIR": settings.access_dir,
             "USERS_FILE": settings.users_file} | extra  # fmt: skip
    path = settings.access_dir.parent / "service.env"
    path.write_text("".join(f"XGATE_{k}={v}\n" for k, v in lines.items()))
    path.chmod(0o600)
    monkeypatch.setattr(xgate.settings, "service_config", lambda: path)
    return path


def test_through_sudo_only_the_service_accounts_own_settings_count(xgate, access_settings, monkeypatch) -> None:
    """A caller who could name the users file, the access folder or the audit through the environment would
    choose who they are and where their reads go: through sudo, xgate reads the service's own file alone."""
    import pwd

    other = next(p for p in pwd.getpwall() if p.pw_uid != os.getuid())
    monkeypatch.setenv("SUDO_USER", other.pw_name)
    monkeypatch.setenv("SUDO_UID", str(other.pw_uid))
    code, _, err = xgate("whoami")
    assert code == 2 and "only from" in err and "does not exist" in err  # no file: nothing else is used
    forged = access_settings.access_dir.parent / "mine.yaml"
    forged.write_text(f"users:\n  - {{name: boss, role: admin, os_account: {other.pw_name}}}\n")
    monkeypatch.setenv("XGATE_USERS_FILE", str(forged))  # the caller's own users file ...
    path = _service_config(monkeypatch, access_settings)
    code, out, err = xgate("whoami")
    assert code == 2 and "boss" not in out + err  # ... counts for nothing: the caller is no user of the service
    path.chmod(0o666)
    code, _, err = xgate("whoami")
    assert code == 2 and "writable by it alone" in err
    path.chmod(0o600)
    folder = path.parent
    for change in (lambda: folder.chmod(0o777), lambda: os.chown(folder, other.pw_uid, -1)):
        change()  # a folder on the way that others may write: the file in it could be swapped
        code, _, err = xgate("whoami")
        assert code == 2 and "writable by its owner alone" in err
        folder.chmod(0o700)
        os.chown(folder, os.getuid(), -1)
    _service_config(monkeypatch, access_settings, DATA_DIR="relative/lake")
    code, _, err = xgate("whoami")
    assert code == 2 and "XGATE_DATA_DIR must be absolute" in err


def test_logout_ends_a_copied_token_too(xgate, access_settings, tmp_path, monkeypatch) -> None:
    import time

    from access import identity

    assert xgate("whoami", who="investigator")[0] == 0
    copied = identity.token_file().read_text()
    time.sleep(1.1)  # the sign-out counts whole seconds: tokens issued before it end
    assert xgate("logout")[0] == 0
    monkeypatch.setenv("XGATE_TOKEN", copied)
    code, _, err = xgate("whoami")
    assert code == 2 and "ended by 'xgate logout'" in err


def test_users_init_only_as_the_service_account_itself_and_recorded(xgate, access_settings, monkeypatch) -> None:
    """Through sudo, whoever sudo lets in would be mapped to the engineer and every password made anew."""
    import pwd

    other = next(p for p in pwd.getpwall() if p.pw_uid != os.getuid())
    me = pwd.getpwuid(os.getuid()).pw_name
    access_settings.users_file.unlink()  # a fresh or broken deployment
    _service_config(monkeypatch, access_settings)
    monkeypatch.setenv("SUDO_USER", other.pw_name)
    monkeypatch.setenv("SUDO_UID", str(other.pw_uid))
    code, _, err = xgate("users", "init")
    assert code == 2 and "never through sudo" in err and not access_settings.users_file.exists()
    monkeypatch.delenv("SUDO_USER")
    monkeypatch.delenv("SUDO_UID")
    assert xgate("users", "init")[0] == 0 and access_settings.users_file.exists()
    assert xgate("users", "init")[0] == 2  # never over an existing file
    records = [(r["user"], r["command"], r["outcome"]) for r in audit.records(access_settings)]
    assert records == [(f"os:{other.pw_name}", "users init", "refused"), (f"os:{me}", "users init", "allowed"),
                       (f"os:{me}", "users init", "refused")]  # fmt: skip
    assert not any("password_hash" in r for r in audit.records(access_settings))


def test_audit_commands_refused_by_role_are_recorded(xgate, access_settings) -> None:
    assert xgate("audit", "rotate", "--reason", "covering tracks", who="investigator")[0] == 2
    assert xgate("audit", "verify")[0] == 2
    records = [(r["user"], r["command"], r["outcome"]) for r in audit.records(access_settings)]
    assert records[-2:] == [("investigator", "audit rotate", "refused"), ("investigator", "audit verify", "refused")]

"""Every error is one line with its documented exit code, carries no secret in any form and no value, and
shows a traceback only with --debug; settings are checked when read; the data directory is one lake
however it is named."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connectors import staging
from tests.conftest import run_xgate
from xgate import cli
from xgate.errors import EXIT_CONFIG, EXIT_STORAGE, XgateError, shown
from xgate.settings import Settings

DROPS = Path(__file__).parents[1] / "fixtures" / "drops"
SECRET = "s3cr3t-Pa55"


def one_line(err: str) -> str:
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    return line


@pytest.mark.parametrize(
    "form",
    [
        f"postgresql://xgate:{SECRET}@127.0.0.1:1/lake",
        f"dbname=lake host=127.0.0.1 port=1 password={SECRET}",
        f"dbname=lake host=127.0.0.1 port=1 password = '{SECRET}'",
        f'dbname=lake host=127.0.0.1 port=1 password="{SECRET}"',
        f"https://127.0.0.1:1/api?user=a&token={SECRET}",
        f"https://127.0.0.1:1/api?access_token={SECRET}&x=1",
        f"api_key: {SECRET}",
        f"Authorization: Bearer {SECRET}",
    ],
)
def test_no_secret_in_any_form_is_shown(form: str) -> None:
    assert SECRET not in shown(f"error: could not connect to {form}: refused")


@pytest.mark.parametrize(
    "catalog",
    [
        f"ducklake:postgres:postgresql://xgate:{SECRET}@127.0.0.1:1/lake",
        f"ducklake:postgres:dbname=lake host=127.0.0.1 port=1 user=xgate password = '{SECRET}'",
    ],
)
def test_a_catalog_that_cannot_be_opened_keeps_its_password(catalog: str, tmp_path: Path) -> None:
    code, out, err = run_xgate({"XGATE_DATA_DIR": str(tmp_path), "XGATE_CATALOG_URL": catalog}, "tables")
    line = one_line(err)
    assert code == 1 and "cannot be opened" in line and SECRET not in out + err


def test_a_token_in_a_source_url_is_not_shown(tmp_path: Path) -> None:
    env = {"XGATE_DATA_DIR": str(tmp_path), "XGATE_HTTP_RETRIES": "0", "XGATE_HTTP_TIMEOUT": "1",
           "XGATE_CONNECTIONS__TELECOM__URL": f"http://127.0.0.1:1/api?token={SECRET}",
           "XGATE_CONNECTIONS__TELECOM__TOKEN": "t"}  # fmt: skip
    code, out, err = run_xgate(env, "extract", "telecom")
    one_line(err)
    assert code == 1 and SECRET not in out + err


def test_an_unforeseen_fault_is_one_line_without_values_and_a_traceback_with_debug(monkeypatch, tmp_path) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError(f"boom for '张三' 110101199003077777 password={SECRET}\nsecond line")

    monkeypatch.setattr("warehouse.lake.connect", broken)
    code, _, err = run_xgate({"XGATE_DATA_DIR": str(tmp_path)}, "tables")
    line = one_line(err)
    assert code == 1 and line.startswith("error: unexpected RuntimeError: boom for") and "--debug" in line
    assert not {"张三", "110101199003077777", SECRET, "second line"} & set(line.split())
    assert "张三" not in line and SECRET not in line
    monkeypatch.setattr(sys, "argv", ["xgate", "--debug", "tables"])
    with pytest.raises(XgateError, match="unexpected RuntimeError") as raised:
        cli.main()
    assert isinstance(raised.value.__cause__, RuntimeError)  # the whole traceback, for the engineer


@pytest.mark.parametrize(("zone", "kept"), [("Asia/Shanghai", "+08:00"), ("+8", "+08:00"), ("UTC-03:30", "-03:30")])
def test_source_timezone_takes_iana_names_and_offsets(zone: str, kept: str, monkeypatch) -> None:
    monkeypatch.setenv("XGATE_SOURCE_TIMEZONE", zone)
    assert Settings().source_timezone == kept


@pytest.mark.parametrize("zone", ["Asia/Shanghia", "+25:00", "Europe/Berlin"])
def test_a_bad_source_timezone_is_one_line(zone: str, tmp_path: Path) -> None:
    code, _, err = run_xgate({"XGATE_DATA_DIR": str(tmp_path), "XGATE_SOURCE_TIMEZONE": zone}, "tables")
    line = one_line(err)
    assert code == EXIT_CONFIG and "source_timezone" in line and zone not in line


def test_a_data_directory_xgate_cannot_write_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    code, _, err = run_xgate({"XGATE_DATA_DIR": str(tmp_path / "file" / "xgate")}, "tables")
    assert code == EXIT_STORAGE and "XGATE_DATA_DIR must be a directory this account can write" in one_line(err)


def test_a_full_disk_is_one_line_and_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    def full(self, table, origin):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.partial / "part-00000.parquet"))

    monkeypatch.setattr(staging.BatchWriter, "write", full)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DROPS / "租赁备案_title_totals.xlsx", inbox)
    env = {"XGATE_DATA_DIR": str(tmp_path / "xgate"), "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox)}
    for _ in range(3):  # retried while the disk is still full: no file piles up
        code, _, err = run_xgate(env, "sync", "housing_filings")
        assert code == EXIT_STORAGE and "the disk is full" in one_line(err)
    assert not [p for p in (tmp_path / "xgate" / "staging").rglob("*") if p.is_file()]


def test_relative_and_absolute_data_directories_open_the_same_lake(tmp_path: Path, monkeypatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DROPS / "租赁备案_title_totals.xlsx", inbox)
    monkeypatch.chdir(tmp_path)
    connection = {"XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox)}
    assert run_xgate(connection | {"XGATE_DATA_DIR": ".xgate"}, "sync", "housing_filings")[0] == 0
    monkeypatch.chdir(tmp_path.parent)
    for named in (str(tmp_path / ".xgate"), f"{tmp_path.name}/.xgate", f"{tmp_path}/../{tmp_path.name}/.xgate"):
        code, out, err = run_xgate({"XGATE_DATA_DIR": named}, "tables")
        assert code == 0 and "housing_rental_filings │ table │ 20" in out, err


def test_help_loads_no_heavy_library() -> None:
    """'xgate --help' answers at once: none of the libraries a command needs is imported to list commands."""
    probe = (
        "import sys; sys.argv = ['xgate', '--help']; from xgate.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('pyarrow', 'duckdb', 'great_expectations', 'pandas', 'pydantic', 'requests') "
        "if m in sys.modules], file=sys.stderr)"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "sync" in found.stdout and found.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_a_read_only_or_full_data_directory_is_a_storage_error(code: int) -> None:
    from xgate.errors import from_os_error

    error = from_os_error(OSError(code, "as the system says", "/data/xgate/staging/x"))
    assert error.exit_code == EXIT_STORAGE and len(str(error).splitlines()) == 1 and "/data/xgate" in str(error)


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("unknown user '510421 19420408 0455'", "unknown user '<number>'"),
        ("investigator is not on case 139 1234 5678", "investigator is not on case <number>"),
        ("no contract dataset '139-1234-5678'", "no contract dataset '<number>'"),
        ("unknown user 'ID510421194204080455'", "unknown user 'ID<number>'"),
        ("/tmp/m13912345678.csv: no such file", "/tmp/m<number>.csv: no such file"),
        ("not on case tel139-1234-5678", "not on case tel<number>"),
        ("unknown user 'ID542421-1992-0220-4127'", "unknown user 'ID<number>'"),
        ("no contract dataset '１３９１２３４５６７８'", "no contract dataset '<number>'"),
        ("unknown user 'tel8613912345678'", "unknown user 'tel<number>'"),
        ("version 1.2.3 on 10.0.0.1", None),
        ("batch health-patients-20261203T184729547569Z-cc74 is held", None),  # an identifier stays
        ("1,116,294 rows at 2026-12-03 18:40:54", None),  # counts, dates and times stay
    ],
)
def test_a_number_echoed_back_is_not_shown(said: str, kept: str | None) -> None:
    """A message repeats what was typed (a user, a case, a dataset): a number that may be a person's ID or
    phone is cut out of it, however grouped (attack 4, 2d)."""
    assert shown(said) == (kept or said)

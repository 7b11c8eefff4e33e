"""``xgate link file``: two lists collided with no lake; bad input is one line and exit 2."""

from __future__ import annotations

import csv
import os
import pwd
import subprocess
import sys
from pathlib import Path

from stdnum.cn import ric


def _id(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def _xgate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``xgate`` as an investigator: this OS account is mapped to one (linking lists is a recorded act)."""
    users = tmp_path / "users.yaml"
    account = pwd.getpwuid(os.getuid()).pw_name
    users.write_text(f"users:\n  - {{name: li, role: investigator, os_account: {account}}}\n", encoding="utf-8")
    env = os.environ | {"XGATE_DATA_DIR": str(tmp_path / "data"), "XGATE_USERS_FILE": str(users)}
    return subprocess.run(
        [sys.executable, "-m", "xgate", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )


def test_two_lists_collide_on_swapped_digits_homophones_and_legacy_ids(tmp_path: Path) -> None:
    people = [
        (f"51040219{70 + i % 30:02d}0{1 + i % 9}1{i % 10}{100 + i:03d}", n)
        for i, n in enumerate(
            ["张伟明", "李秀英", "王芳", "刘洋", "陈静怡", "杨帆", "赵磊", "黄丽", "周杰伦", "吴敏", "徐强", "孙悦"] * 5
        )
    ]
    ids = [_id(body[:17]) for body, _ in people]
    with (tmp_path / "a.csv").open("w", newline="", encoding="gbk") as f:
        w = csv.writer(f)
        w.writerow(["编号", "姓名", "身份证号"])
        for i, ((_, name), number) in enumerate(zip(people, ids)):
            w.writerow([f"A{i}", name, number])
        w.writerow(["A-none", "未知", "000000000000000000"])
    with (tmp_path / "b.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "full_name", "card"])
        for i, ((_, name), number) in enumerate(zip(people, ids)):
            if i == 0:
                number = number[:10] + number[11] + number[10] + number[12:]  # two digits swapped
            if i == 1:
                name = "李秀瑛"  # homophone
            if i == 2:
                number = number[:6] + number[8:17]  # legacy 15 digits
            w.writerow([f"B{i}", name, number])
        w.writerow(["B-none", "不详", "000000000000000000"])
    result = _xgate(
        tmp_path,
        "link",
        "file",
        "a.csv",
        "--map",
        "name=姓名,id_number=身份证号",
        "--against",
        "b.csv",
        "--against-map",
        "name=full_name,id_number=card",
        "--out",
        "pairs.csv",
    )
    assert result.returncode == 0, result.stderr
    pairs = list(csv.DictReader((tmp_path / "pairs.csv").open(encoding="utf-8")))
    found = {(p["key_l"], p["key_r"]) for p in pairs if float(p["match_probability"]) >= 0.9}
    assert {(f"A{i}", f"B{i}") for i in range(3)} <= found
    assert all(p["key_l"] != "A-none" and p["key_r"] != "B-none" for p in pairs)
    assert all(p["key_l"][1:] == p["key_r"][1:] for p in pairs if float(p["match_probability"]) >= 0.9)
    assert "id_number: two digits swapped" in next(p["reason"] for p in pairs if p["key_l"] == "A0")


def test_bad_lists_are_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("编号,出生日期\nA1,2000-01-01\n", encoding="utf-8")
    (tmp_path / "u16.csv").write_bytes("编号,姓名\nA1,张三\n".encode("utf-16"))
    for args in (
        ("a.csv", "--map", "birth_date=出生日期"),  # no name, no ID
        ("a.csv", "--map", "nickname=出生日期"),  # unknown role
        ("a.csv", "--map", "name=姓名"),  # mapped column missing
        ("u16.csv", "--map", "name=姓名", "--against", "u16.csv"),  # encoding
        ("a.csv", "--map", "name=编号"),  # the lake: an investigator's read
    ):
        result = _xgate(tmp_path, "link", "file", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    log = tmp_path / "data" / "audit" / "reads.jsonl"
    before = log.read_text(encoding="utf-8").count("link file")
    result = _xgate(tmp_path, "link", "file", "a.csv", "--map", "name=编号", "--case", "C-1", "--purpose", "p",
                    "--out", "gone/pairs.csv")  # fmt: skip
    assert result.returncode == 2 and "gone/pairs.csv" in result.stderr
    assert log.read_text(encoding="utf-8").count("link file") == before  # --out judged before any read

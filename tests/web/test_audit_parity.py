"""A read through the web is the same read as the CLI's: same access layer, same audit record, same who-read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import requests

from access import audit, identity, users
from tests.access.conftest import CASE
from tests.conftest import free_port, run_xgate
from tests.web.conftest import csrf_of, http_session

SAME = ("user", "role", "case", "purpose", "command", "query", "outcome", "rows", "subjects", "result_hash", "granted")


def _env(settings, user: str) -> dict[str, str]:
    places = {"DATA_DIR": settings.data_dir, "AUDIT_DIR": settings.audit_dir, "ACCESS_DIR": settings.access_dir,
              "USERS_FILE": settings.users_file}  # fmt: skip
    token = identity.issue(settings, users.find(settings, user))
    return {f"XGATE_{k}": str(v) for k, v in places.items()} | {"XGATE_TOKEN": token}


def test_a_web_read_shows_in_who_read_exactly_like_a_cli_read(server, web_settings, people) -> None:
    person, purpose = people[3], "parity of web and CLI"
    code, _, err = run_xgate(_env(web_settings, "investigator"), "person", person, "--case", CASE, "--purpose", purpose)
    assert code == 0, err
    client = http_session(server, "investigator")
    page = client.get(f"{server}/cases", timeout=10).text
    client.post(f"{server}/cases/pick", data={"csrf": csrf_of(page), "case": CASE, "purpose": purpose}, timeout=10)
    page = client.get(f"{server}/search", timeout=10).text
    shown = client.post(f"{server}/search", data={"csrf": csrf_of(page), "kind": "person", "value": person}, timeout=30)
    assert shown.status_code == 200 and "/look/" in shown.url and person not in shown.url
    cli, web = audit.who_read(web_settings, person)[-2:]
    assert {k: cli.get(k) for k in SAME} == {k: web.get(k) for k in SAME}
    code, out, err = run_xgate(_env(web_settings, "auditor"), "audit", "who-read", person)
    assert code == 0, err
    lines = [re.sub(r"\d{4}-\d\d-\d\dT[\d:]+", "TIME", line) for line in out.splitlines() if purpose[:10] in line]
    assert len(lines) == 2 and lines[0] == lines[1]


def test_xgate_web_serves_as_the_readme_says(web_settings, tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in _env(web_settings, "investigator").items() if k != "XGATE_TOKEN"}
    served = subprocess.Popen([sys.executable, "-m", "xgate", "web", "--port", str(port)], env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/signin", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200 and "Sign in" in answer.text
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    finally:
        served.terminate()
        served.wait(10)


def test_a_web_search_by_name_is_recorded_exactly_like_a_cli_search(server, web_settings, named_person) -> None:
    name, born, purpose = named_person["name"], named_person["birth_date"], "parity of the name search"
    code, out, err = run_xgate(_env(web_settings, "investigator"), "search", name, born, "--case", CASE,
                               "--purpose", purpose, "--format", "json")  # fmt: skip
    assert code == 0, err
    assert named_person["id_number"] not in out
    client = http_session(server, "investigator")
    page = client.get(f"{server}/cases", timeout=10).text
    client.post(f"{server}/cases/pick", data={"csrf": csrf_of(page), "case": CASE, "purpose": purpose}, timeout=10)
    page = client.get(f"{server}/search", timeout=10).text
    shown = client.post(f"{server}/search/name", data={"csrf": csrf_of(page), "name": name, "born": born}, timeout=30)
    assert shown.status_code == 200 and "/look/" in shown.url
    cli, web = [r for r in audit.who_read(web_settings, named_person["id_number"]) if r["purpose"] == purpose]
    assert {k: cli.get(k) for k in SAME} == {k: web.get(k) for k in SAME}
    assert cli["command"] == "search" and name not in cli["query"]

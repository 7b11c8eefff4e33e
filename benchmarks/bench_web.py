"""The web workbench's cost: a person page through HTTP against ``xgate web`` (its own uvicorn process), beside
the same look-up through the access layer in this process.

Both sides make the read as their user would: a fresh :class:`access.reader.Reader` per look-up (the web
opens one per request) on the process's kept lake instance (as the web server keeps its own), the case
checks, the masked sections, two audit records.
The web side adds HTTP, the session cookie and sign-in token check, the look-up reference and rendering
the page; a look-up is posted, then its page is fetched, and only the page is timed (that is where the read
is). The lake is the warehouse suite's (``XGATE_BENCH_WEB_PEOPLE``, default that suite's size).
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

from access import grants, identity, lookups
from access.reader import Reader
from access.users import User
from benchmarks import bench_warehouse
from benchmarks.report import Result
from warehouse import lake

LOOKUPS = int(os.environ.get("XGATE_BENCH_WEB_LOOKUPS", 100))
PEOPLE = int(os.environ.get("XGATE_BENCH_WEB_PEOPLE", bench_warehouse.PEOPLE))
INVESTIGATOR = User(name="investigator", role="investigator")
CASE, PURPOSE, PASSWORD = "BENCH-WEB", "benchmark", "bench password"


def _percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[max(int(len(timings) * 0.95) - 1, 0)]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _serve(settings, port: int) -> subprocess.Popen:
    env = os.environ | {"XGATE_DATA_DIR": str(settings.data_dir), "XGATE_AUDIT_DIR": str(settings.audit_dir),
                        "XGATE_ACCESS_DIR": str(settings.access_dir), "XGATE_USERS_FILE": str(settings.users_file),
                        "XGATE_WEB_SEARCHES": "100000"}  # fmt: skip
    served = subprocess.Popen([sys.executable, "-m", "xgate", "web", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/signin", timeout=2)
            return served
        except requests.ConnectionError:
            time.sleep(0.2)
    served.kill()
    raise RuntimeError("xgate web did not start")


def _client(base: str) -> requests.Session:
    client = requests.Session()
    form = {"csrf": _csrf(client.get(f"{base}/signin").text), "name": INVESTIGATOR.name, "password": PASSWORD}
    client.post(f"{base}/signin", data=form).raise_for_status()
    form = {"csrf": _csrf(client.get(f"{base}/cases").text), "case": CASE, "purpose": PURPOSE}
    client.post(f"{base}/cases/pick", data=form).raise_for_status()
    return client


def _cpu(pid: int) -> float:
    """CPU seconds a process has used (all its threads): what a look-up costs whatever else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(
    settings, base: str, ids: list[str], server: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Seconds per page and per in-process look-up, and the CPU seconds each took (the server's, this process's)."""
    client = _client(base)
    csrf = _csrf(client.get(f"{base}/search").text)
    web, local, web_cpu, local_cpu = [], [], [], []
    for i, person in enumerate(ids):
        start, cpu = time.perf_counter(), time.process_time()
        reader = Reader(settings)
        try:
            reader.read(lookups.person(INVESTIGATOR, person, CASE, PURPOSE))
        finally:
            reader.close()
        local.append(time.perf_counter() - start)
        local_cpu.append(time.process_time() - cpu)
        posted = client.post(f"{base}/search", data={"csrf": csrf, "kind": "person", "value": person},
                             allow_redirects=False)  # fmt: skip
        page = f"{base}{posted.headers['location']}"
        start, cpu = time.perf_counter(), _cpu(server)
        answer = client.get(page)
        web.append(time.perf_counter() - start)
        web_cpu.append(_cpu(server) - cpu)
        assert answer.status_code == 200 and 'data-section="person"' in answer.text, answer.text[:300]
        if i < 5:  # warm-up: caches, first file reads; not counted
            web.pop(), local.pop(), web_cpu.pop(), local_cpu.pop()
    return web, local, web_cpu, local_cpu


def run() -> list[Result]:
    built, _ = bench_warehouse.build(PEOPLE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        users = folder / "users.yaml"
        entry = {
            "name": INVESTIGATOR.name,
            "role": INVESTIGATOR.role,
            "password_hash": identity.hash_password(PASSWORD),
        }
        users.write_text(yaml.safe_dump({"users": [entry]}), encoding="utf-8")
        settings = built.model_copy(
            update={"audit_dir": folder / "audit", "access_dir": folder / "access", "users_file": users}
        )
        grants.open_case(settings, INVESTIGATOR, CASE, "benchmark")
        con = lake.connect(settings, read_only=True)
        ids = [r[0] for r in con.execute("SELECT id_number FROM raw.civil_residents USING SAMPLE 2000").fetchall()]
        con.close()
        sample = random.Random(1).sample(ids, min(LOOKUPS + 5, len(ids)))
        port = bench_warehouse._free_port()
        served = _serve(settings, port)
        try:
            web, local, web_cpu, local_cpu = _measure(settings, f"http://127.0.0.1:{port}", sample, served.pid)
        finally:
            served.terminate()
            served.wait(10)
    (p50, p95), (l50, l95) = _percentiles(web), _percentiles(local)
    print(f"web: person page p50 {p50 * 1000:.1f} ms p95 {p95 * 1000:.1f} ms; in-process {l50 * 1000:.1f} ms",
          file=sys.stderr)  # fmt: skip
    return [
        Result(
            "web",
            f"person page over HTTP (xgate web, own process), {PEOPLE:,} people",
            1 / p50,
            "same look-up through the access layer in-process",
            1 / l50,
            f"p50 {p50 * 1000:.0f} ms vs {l50 * 1000:.0f} ms ({p50 / l50:.2f}x); p95 {p95 * 1000:.0f} vs "
            f"{l95 * 1000:.0f} ms (target p95 < 300 ms at 1M); CPU per look-up p50 "
            f"{statistics.median(web_cpu) * 1000:.0f} ms (server) vs {statistics.median(local_cpu) * 1000:.0f} ms; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {len(web)} look-ups; "
            "rows/s columns are pages/s",
        )
    ]

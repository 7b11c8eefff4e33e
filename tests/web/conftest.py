"""The web workbench served once per test run on the session's shared lake, and one headless Chromium.

The server runs in a thread of the test process (uvicorn on a free port) over the shared lake with its own
users, ledger and audit; the browser is Debian's ``chromium`` driven by Playwright (never a downloaded
build). Each test gets its own browser context (its own cookies), which refuses and reports any request
that leaves the server. Screenshots go to ``tests/artifacts/web``.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import uvicorn

from access import grants
from tests.access.conftest import CASE, COLLEAGUE, INVESTIGATOR, PASSWORD, named_person, write_users
from tests.conftest import free_port
from warehouse import lake
from web.cli import config
from xgate.settings import Settings

ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "web"
__all__ = ["named_person"]  # the search tests' person, a fixture shared with the access tests
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def web_settings(landed: tuple[Settings, dict], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shared lake (read only) with the web tests' own users, ledger, key and audit; case C-1 is open
    with the investigator and a colleague on it."""
    root = tmp_path_factory.mktemp("web")
    settings = landed[0].model_copy(
        update={"audit_dir": root / "audit", "access_dir": root / "access", "users_file": write_users(root / "people")}
    )
    grants.open_case(settings, INVESTIGATOR, CASE, "missing person")
    grants.add_member(settings, INVESTIGATOR, CASE, COLLEAGUE.name)
    return settings


@pytest.fixture(scope="session")
def people(landed: tuple[Settings, dict]) -> list[str]:
    """ID numbers of people with a phone and a rental (read directly, to choose whom the tests look up)."""
    con = lake.connect(landed[0], read_only=True)
    try:
        rows = con.execute(
            "SELECT DISTINCT p.id_number FROM shared.person p JOIN shared.phone f ON f.id_number = p.id_number "
            "JOIN shared.rental r ON r.tenant_id_number = p.id_number WHERE length(p.id_number) = 18 "
            "ORDER BY 1 LIMIT 6"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port, until the block ends: its base URL."""
    port = free_port()
    server = uvicorn.Server(config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def server(web_settings: Settings) -> Iterator[str]:
    from web.app import create_app

    with served(create_app(web_settings)) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed ('make chromium' as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def visit(browser, server: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:
    """``visit(user)``: a new page in a context of its own, signed in as ``user`` (None: not signed in);
    any request to another origin is refused and fails the test."""
    contexts, outside = [], []

    def guard(route) -> None:
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    def open_page(user: str | None = None):
        context = browser.new_context(accept_downloads=True, base_url=server)
        context.route("**/*", guard)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            sign_in(page, user)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not outside, f"pages asked for outside resources: {outside}"


def sign_in(page, user: str, password: str = PASSWORD) -> None:
    page.goto("/signin")
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def pick_case(page, purpose: str = "locate a missing person") -> None:
    page.goto("/cases")
    page.select_option("select[name=case]", CASE)
    page.fill("input[name=purpose]", purpose)
    with page.expect_navigation():
        page.click("text=Work on this case")


def look_up(page, value: str, kind: str = "person") -> None:
    page.goto("/search")
    page.select_option("select[name=kind]", kind)
    page.fill("input[name=value]", value)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def http_session(server: str, user: str) -> requests.Session:
    """A plain HTTP client signed in as ``user`` (for tests and benchmarks that need no browser)."""
    client = requests.Session()
    token = csrf_of(client.get(f"{server}/signin", timeout=10).text)
    answer = client.post(f"{server}/signin", data={"csrf": token, "name": user, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return client

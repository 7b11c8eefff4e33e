"""The session cookie, CSRF and the search rate limit, without a browser."""

from __future__ import annotations

import time

import pytest
import requests
from pydantic import SecretStr

from tests.access.conftest import PASSWORD
from tests.web.conftest import csrf_of, http_session, served
from web import session as sessions
from xgate.errors import ConfigError


def test_a_session_cookie_is_signed_and_expires(web_settings) -> None:
    made = sessions.fresh(web_settings)
    made.case = "C-1"
    raw = sessions.dump(web_settings, made)
    assert sessions.load(web_settings, raw) == made
    body, _, mac = raw.partition(".")
    assert sessions.load(web_settings, body[:-2] + "xx." + mac) is None
    made.expires = int(time.time()) - 1
    assert sessions.load(web_settings, sessions.dump(web_settings, made)) is None


def test_the_rate_limit_counts_per_user() -> None:
    limit = sessions.RateLimit(3)
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")


def test_a_form_without_the_session_csrf_token_is_refused(server) -> None:
    client = http_session(server, "investigator")
    answer = client.post(f"{server}/cases/open", data={"csrf": "forged", "number": "X-1", "title": "t"}, timeout=10)
    assert answer.status_code == 403 and "CSRF" in answer.text
    stranger = requests.post(f"{server}/signin", data={"name": "admin", "password": "x"}, timeout=10)
    assert stranger.status_code == 403


def test_an_anonymous_sign_in_keeps_the_typed_name_as_a_keyed_token(server, web_settings) -> None:
    """Anyone who reaches the port may type a name, a person's ID number too (attack 3, 3c): kept as a keyed
    token in the audit and the failures file, never in clear."""
    import json

    from access import audit, identity

    client = requests.Session()
    csrf = csrf_of(client.get(f"{server}/signin", timeout=10).text)
    name = "510421 1942 0408 0455"
    answer = client.post(f"{server}/signin", data={"csrf": csrf, "name": name, "password": "x"}, timeout=30)
    assert answer.status_code == 401
    last = [r for r in audit.records(web_settings) if r.get("query") == "web login"][-1]
    assert last["user"] == identity.typed_name(web_settings, name) and last["user"].startswith("<user:")
    failures = web_settings.access_dir / "signin-failures.json"
    assert last["user"] in {k.split(" from ")[0] for k in json.loads(failures.read_text())}
    assert "510421" not in audit.log_path(web_settings).read_text() + failures.read_text()


def test_a_look_up_reference_is_its_user_alone(server, people) -> None:
    mine = http_session(server, "investigator")
    page = mine.get(f"{server}/search", timeout=10).text
    form = {"csrf": csrf_of(page), "kind": "person", "value": people[0]}
    answer = mine.post(f"{server}/search", data=form, timeout=30)
    other = http_session(server, "colleague")
    assert "not yours" in other.get(answer.url, timeout=10).text
    assert other.get(f"{server}/auditor", timeout=10).status_code == 403  # an investigator is no auditor


def test_sign_out_ends_the_sign_in_on_the_server(server, web_settings) -> None:
    """A copy of the cookie taken before sign-out reads no more, and the token inside it never proved anyone
    at the command line (it is a web session's)."""
    from access import identity
    from access.users import Refused

    client = http_session(server, "investigator")
    copied = requests.Session()
    copied.cookies.update(client.cookies)
    assert copied.get(f"{server}/cases", allow_redirects=False, timeout=10).status_code == 200
    token = sessions.load(web_settings, client.cookies[sessions.COOKIE]).token
    with pytest.raises(Refused, match="not valid"):
        identity.from_token(web_settings, token)  # the CLI's use: refused
    page = client.get(f"{server}/cases", timeout=10).text
    client.post(f"{server}/signout", data={"csrf": csrf_of(page)}, timeout=10)
    assert copied.get(f"{server}/cases", allow_redirects=False, timeout=10).headers["location"] == "/signin"
    with pytest.raises(Refused, match="signing out"):
        identity.from_token(web_settings, token, use="web")
    other = http_session(server, "investigator")  # the user's other sign-ins go on
    assert other.get(f"{server}/cases", allow_redirects=False, timeout=10).status_code == 200


SECRET = "the proxy's own secret, 32 characters or more"


def test_a_trusted_proxy_header_signs_in_once_and_is_recorded(web_settings) -> None:
    from access import audit, identity
    from web.app import PROXY_SECRET, create_app

    with pytest.raises(ConfigError, match="XGATE_WEB_PROXY_SECRET"):  # a header anyone may send: not started
        create_app(web_settings.model_copy(update={"web_user_header": "X-Remote-User"}))
    settings = web_settings.model_copy(
        update={"web_user_header": "X-Remote-User", "web_proxy_secret": SecretStr(SECRET)}
    )
    proxy = {PROXY_SECRET: SECRET}
    with served(create_app(settings)) as base:
        client = requests.Session()
        assert client.get(f"{base}/search", allow_redirects=False, timeout=10).headers["location"] == "/signin"
        for header in ({"X-Remote-User": "auditor"}, {"X-Remote-User": "auditor", PROXY_SECRET: SECRET[:-1] + "x"},
                       {"X-Remote-User": "auditor\xa0"} | proxy, {"X-Remote-User": "nobody"} | proxy):  # fmt: skip
            refused = client.get(f"{base}/auditor/audit", headers=header, allow_redirects=False, timeout=10)
            assert refused.status_code == 303 and refused.headers["location"] == "/signin", header
        answer = client.get(f"{base}/search", headers={"X-Remote-User": "colleague"} | proxy, timeout=10)
        assert answer.status_code == 200 and "colleague (investigator)" in answer.text
        assert "colleague" in client.get(f"{base}/search", timeout=10).text  # the session goes on without the header
    logins = [(r["user"], r["outcome"], r.get("reason", "")[:30]) for r in audit.reads(web_settings)
              if r.get("query") == "web sso"]  # fmt: skip
    assert logins[-5:] == [("auditor", "refused", "the request did not come throu"),
                           ("auditor", "refused", "the request did not come throu"),
                           ("-", "refused", "the proxy named no plain user "),
                           (identity.typed_name(web_settings, "nobody"), "refused", "the proxy named no xgate user"),
                           ("colleague", "allowed", "")]  # fmt: skip


def test_a_forwarded_for_header_gives_a_client_no_other_address(server, web_settings) -> None:
    """Sign-in failures lock a name per client address, which is the connection's: a client that writes a
    new X-Forwarded-For on every try is still one client, locked after 5, and the name stays open to the
    command line (attack 5: three invented addresses locked the admin out everywhere)."""
    from access import identity

    client = requests.Session()
    token = csrf_of(client.get(f"{server}/signin", timeout=10).text)
    try:
        for n in range(identity.LOCK_AFTER + 1):
            answer = client.post(f"{server}/signin", data={"csrf": token, "name": "supervisor", "password": "x"},
                                 headers={"X-Forwarded-For": f"10.9.9.{n}"}, timeout=30)  # fmt: skip
            assert answer.status_code == 401
        assert "locked" in answer.text
        assert identity.sign_in(web_settings, "supervisor", PASSWORD).name == "supervisor"
    finally:
        (web_settings.access_dir / "signin-failures.json").unlink(missing_ok=True)

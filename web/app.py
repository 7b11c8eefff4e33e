"""The FastAPI application: sessions, CSRF, security headers, sign-in, and the routers of each role.

Handlers are plain functions (run in the thread pool): the access layer they call is blocking (argon2,
DuckDB, fsynced audit appends). Every refusal of the access layer is shown as its one line, with 403.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from access import acts, audit, identity, users
from access.output import visible
from access.users import Refused, User
from web import session as sessions
from xgate.errors import ConfigError, XgateError, shown, unexpected
from xgate.settings import Settings

HERE = Path(__file__).parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")  # fmt: skip
HOME = {"investigator": "/search", "auditor": "/auditor", "admin": "/grants", "engineer": "/engineer"}
# every value a page shows, escaped for HTML and with its control and format characters written out (a bidi
# override typed into a query or a purpose would otherwise reorder what the auditor reads); line breaks kept
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    finalize=lambda value: (
        value if isinstance(value, Markup) or not isinstance(value, str) else visible(value, "\n\r\t")
    ),
)


class NotSignedIn(Exception):
    """No valid sign-in behind this request: the sign-in page, not an error."""


class BadForm(Exception):
    """A form without this session's CSRF token."""


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def session_of(request: Request) -> sessions.Session:
    return request.state.session


def page(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
    """A template rendered with who is signed in and the case picked (shown on every page)."""
    session = session_of(request)
    values = {"session": session, "user": getattr(request.state, "user", None), "csrf": session.csrf, **values}
    return HTMLResponse(templates.get_template(template).render(**values), status_code=status)


def signed_in(request: Request) -> User:
    """The user the session's token proves (same token and checks as ``xgate login``), or the sign-in page.
    With ``XGATE_WEB_USER_HEADER``, a session without a token starts from the user the proxy names there."""
    token = session_of(request).token or _single_sign_on(request)
    if not token:
        raise NotSignedIn
    try:
        user = identity.from_token(settings_of(request), token, use="web")
    except (Refused, ValueError, KeyError, TypeError):
        raise NotSignedIn from None
    request.state.user = user
    return user


PROXY_SECRET = "X-Xgate-Proxy-Secret"  # the header in which the proxy proves it is the proxy


def _single_sign_on(request: Request) -> str | None:
    """A token for the user a trusted proxy names (recorded as a sign-in, ``web sso``), or None.

    The port is open to every local account, not only to the proxy: a name counts only beside the secret
    the proxy adds (``XGATE_WEB_PROXY_SECRET`` in :data:`PROXY_SECRET`, compared in constant time), and only
    as the exact user name (no blank or other character around it that a lookup might forgive)."""
    settings = settings_of(request)
    name = request.headers.get(settings.web_user_header) if settings.web_user_header else None
    if not name:
        return None
    plain = name if 0 < len(name) <= 64 and name == name.strip() and name.isprintable() else "-"
    entry = {"user": identity.typed_name(settings, plain) if plain == name else "-", "role": None, "case": None}
    entry |= {"purpose": None, "command": "login", "query": "web sso"}
    secret = settings.web_proxy_secret.get_secret_value().encode() if settings.web_proxy_secret else b""
    sent = request.headers.get(PROXY_SECRET, "").encode("latin-1")
    try:
        if not secret or not hmac.compare_digest(sent, secret):
            raise Refused(f"the request did not come through the trusted proxy ({PROXY_SECRET} missing or wrong)")
        if plain != name:
            raise Refused("the proxy named no plain user name")
        if entry["user"] != name:  # kept as a token (identity.typed_name): the reason does not repeat it either
            raise Refused("the proxy named no xgate user")
        user = users.find(settings, name)
    except Refused as exc:
        audit.append(settings, entry | {"outcome": "refused", "reason": str(exc)})
        raise NotSignedIn from None
    audit.append(settings, entry | {"role": user.role, "outcome": "allowed"})
    session_of(request).token = identity.issue(settings, user, use="web")
    return session_of(request).token


def csrf_checked(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    if not hmac.compare_digest(csrf.encode(), session_of(request).csrf.encode()):
        raise BadForm


Signed = Annotated[User, Depends(signed_in)]
Checked = Depends(csrf_checked)


def create_app(settings: Settings) -> FastAPI:
    """The web workbench over ``settings`` (its lake, users, ledger and audit)."""
    from web import auditor, investigator

    if settings.web_user_header and not settings.web_proxy_secret:
        raise ConfigError("XGATE_WEB_USER_HEADER needs XGATE_WEB_PROXY_SECRET: the secret the proxy adds in "
                          f"{PROXY_SECRET}, without which any local process could name any user")  # fmt: skip
    app = FastAPI(title="xgate", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.searches = sessions.RateLimit(settings.web_searches)
    app.state.lookups = sessions.Lookups()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def _session_and_headers(request: Request, call_next) -> Response:
        loaded = sessions.load(settings, request.cookies.get(sessions.COOKIE))
        request.state.session = loaded or sessions.fresh(settings)
        before = sessions.dump(settings, request.state.session)
        response = await call_next(request)
        after = sessions.dump(settings, request.state.session)
        if loaded is None or after != before:
            response.set_cookie(sessions.COOKIE, after, max_age=int(settings.token_hours * 3600), httponly=True,
                                samesite="strict", secure=request.url.scheme == "https", path="/")  # fmt: skip
        response.headers.update({"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})  # fmt: skip
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"  # pages hold personal data: no copy on disk
        return response

    @app.exception_handler(NotSignedIn)
    async def _sign_in_first(request: Request, _: NotSignedIn) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, _: BadForm) -> Response:
        why = "This form is not from your current session (CSRF check): reload the page and try again."
        return page(request, "message.html", 403, title="Form expired", message=why)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return page(request, "message.html", 403, title="Refused", message=shown(str(exc)))

    @app.exception_handler(XgateError)
    async def _failed(request: Request, exc: XgateError) -> Response:
        return page(request, "message.html", 500, title="Failed", message=shown(str(exc)))

    @app.exception_handler(Exception)
    async def _unforeseen(request: Request, exc: Exception) -> Response:
        """One line, with values cut out, as the CLI shows it (the traceback stays in the server's log)."""
        logging.getLogger("xgate.web").exception("unforeseen failure on %s", request.url.path)
        message = str(unexpected(exc)).replace(" (run again with --debug for the traceback)", "")
        return page(request, "message.html", 500, title="Failed", message=message)

    @app.get("/", include_in_schema=False)
    def home(user: Signed) -> Response:
        return RedirectResponse(HOME[user.role], status_code=303)

    @app.get("/signin", response_class=HTMLResponse)
    def signin_page(request: Request) -> Response:
        return page(request, "signin.html")

    @app.post("/signin", dependencies=[Checked])
    def signin(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
        try:
            client = identity.web_origin(request.client.host if request.client else None)
            user = acts.sign_in(settings, name.strip(), password, via="web login", origin=client)
        except Refused as exc:
            return page(request, "signin.html", 401, error=shown(str(exc)), name=name)
        request.state.session = sessions.fresh(settings)  # a new session (and CSRF token) for the signed-in user
        request.state.session.token = identity.issue(settings, user, use="web")
        return RedirectResponse(HOME[user.role], status_code=303)

    @app.post("/signout", dependencies=[Checked])
    def signout(request: Request) -> Response:
        """End the session's sign-in on the server, not just in this browser: a copy of the cookie (or of
        the token in it) reads no more. The user's other sign-ins (another browser, the CLI) go on."""
        if session_of(request).token:
            identity.revoke(settings, session_of(request).token)
        request.state.session = sessions.fresh(settings)
        return RedirectResponse("/signin", status_code=303)

    app.include_router(investigator.router)
    app.include_router(auditor.router)
    return app

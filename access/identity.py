"""Who is calling, proven rather than claimed.

Two proofs, as in X-Road where identity comes from certificates, not from what a caller says:

- a **sign-in token**: ``xgate login NAME`` checks the user's password (argon2id hash in the users
  file) and writes a token signed with the access key, valid for ``XGATE_TOKEN_HOURS``, to the caller's
  own ``~/.config/xgate/token`` (0600; or ``XGATE_TOKEN``). The web sign-in issues the same tokens.
  A token names the password hash it was issued under, so changing a password ends its tokens. A token
  is for one use, the CLI's or the web's (a web session's token, readable in its cookie, proves nobody at
  the command line), and has an id of its own, so a sign-out can end that one token everywhere (copies
  included) while the user's other sign-ins go on;
- else the **operating-system account** the process runs under, mapped in the users file
  (``os_account``). Run through ``sudo -u <service account>``, the account that called sudo counts,
  but only when the process runs as the account that owns the access folder (no one else can set it);
  there, sign-in tokens do not count (they would sit in the service account's home, shared by all).

There is no ``--user`` flag: naming someone is not being them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import pwd
import secrets
import time
from pathlib import Path
from typing import Literal

from access import audit, store, users
from access.users import Refused, User
from xgate.settings import Settings


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    from argon2.exceptions import Argon2Error, InvalidHashError

    if not user.password_hash:
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (Argon2Error, InvalidHashError):
        return False


LOCK_AFTER, LOCK_MINUTES = 5, 15  # failed sign-ins in a row from one place, and how long the name stays shut there
LOCK_ANYWHERE = 30  # failed sign-ins of one name from all places together that shut it everywhere
_NOBODY = User(
    name="-",
    role="engineer",
    password_hash=("$argon2id$v=19$m=65536,t=3,p=4$tERuRAB8cIgVmei1+QWvWA$dC14pmjUMbcrGMIHylSN80cahPhXNXiYTHMauu7/Y24"),
)  # a hash no password matches, checked for unknown names so they cost what known ones do


def typed_name(settings: Settings, name: str) -> str:
    """A name typed to sign in as xgate keeps it (the audit's user, the failures file): a user's own name as
    it is, anything else as a keyed token (``<user:...>``, the same for the same name). Anyone may type there,
    without an account: a person's ID or phone number, someone's password in the wrong field, escape codes."""
    return name if name in users.directory(settings).users else audit.token(settings, "user", name)


def web_origin(host: str | None) -> str:
    """Where a web sign-in comes from, as failures are counted: the client's address, this machine's loopback
    addresses as one (a local process may connect from any 127.x address) and an IPv6 client's /64 network
    (one host holds all of it)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return f"web {host}"
    if address.is_loopback:
        return "web loopback"
    return f"web {ipaddress.ip_network(f'{address}/64', strict=False)}" if address.version == 6 else f"web {address}"


def sign_in(settings: Settings, name: str, password: str, origin: str = "local") -> User:
    """The user, after their password (:class:`Refused` otherwise, in the same words whether or not the
    user exists, after the same work). After :data:`LOCK_AFTER` failures in a row from one ``origin`` (this
    machine's command line, or one web client's address) a name is shut there for :data:`LOCK_MINUTES`
    minutes, right password or not: guessing costs time the guesser does not have, and someone who can reach
    the web port cannot shut the owner out of every other place by failing on purpose. After
    :data:`LOCK_ANYWHERE` failures from all web clients together it is shut on the web (guessing from many
    addresses); the command line is shut only by its own failures. Failures are kept by :func:`typed_name`
    and a keyed token of the origin, only while they count."""
    file = store.access_dir(settings) / "signin-failures.json"
    with store.exclusive(file.with_suffix(".lock")):
        since = time.time() - LOCK_MINUTES * 60
        kept_so_far = json.loads(file.read_text()) if file.exists() else {}
        failures = {k: v for k, v in kept_so_far.items() if v and v[-1] > since}  # the ones that no longer count go
        kept = typed_name(settings, name)
        here, local = (f"{kept} from {audit.token(settings, 'origin', o)}" for o in (origin, "local"))
        recent = [t for t in failures.get(here, []) if t > since]
        everywhere = sum(  # the web's failures, whatever the client: the command line is never shut by them
            1 for key, times in failures.items() if key.startswith(f"{kept} from ") and key != local
            for t in times if t > since
        )  # fmt: skip
        try:
            user = users.find(settings, name)
        except Refused:
            user = None
        ok = check_password(user or _NOBODY, password) and user is not None
        shut = len(recent) >= LOCK_AFTER or (here != local and everywhere >= LOCK_ANYWHERE)
        if shut or not ok:
            if not shut:  # tries while shut add nothing: they neither lengthen the lock nor count elsewhere
                failures[here] = [*recent, time.time()][-LOCK_AFTER:]
                store.write_private(file, json.dumps(failures).encode())
            raise Refused(f"this name is locked for {LOCK_MINUTES} minutes after repeated failures" if shut
                          else "wrong user name or password")  # fmt: skip
        failures.pop(here, None)
        store.write_private(file, json.dumps(failures).encode())
    return user


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


Use = Literal["cli", "web"]


def issue(settings: Settings, user: User, hours: float | None = None, use: Use = "cli") -> str:
    """A signed token for ``user`` (after a checked password), good for ``use`` alone."""
    now = int(time.time())
    ttl = int(3600 * (hours or settings.token_hours))
    claims = {"sub": user.name, "iat": now, "exp": now + ttl, "pw": _fingerprint(user), "use": use,
              "jti": secrets.token_urlsafe(12)}  # fmt: skip
    body = _b64(json.dumps(claims).encode())
    return f"{body}.{store.mac(settings, 'token', body.encode())}"


def _claims(settings: Settings, token: str) -> dict:
    """What a token says, if it is xgate's own (its MAC right); :class:`Refused` otherwise."""
    body, _, signature = token.strip().partition(".")
    if not hmac.compare_digest(signature, store.mac(settings, "token", body.encode())):
        raise Refused("the sign-in token is not valid: run 'xgate login NAME'")
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def from_token(settings: Settings, token: str, use: Use = "cli") -> User:
    """The user a token proves for ``use``, or :class:`Refused` (forged, another use's, expired, password
    since changed, signed out)."""
    claims = _claims(settings, token)
    if claims.get("use") != use or not claims.get("jti"):  # a web session's token is no CLI sign-in, nor back
        raise Refused("the sign-in token is not valid: run 'xgate login NAME'")
    if claims["exp"] <= time.time():
        raise Refused("the sign-in has expired: run 'xgate login NAME'")
    user = users.find(settings, claims["sub"])
    if claims["pw"] != _fingerprint(user):
        raise Refused("the password changed since this sign-in: run 'xgate login NAME'")
    if claims["iat"] < _signed_out(settings).get(user.name, 0):
        raise Refused("this sign-in was ended by 'xgate logout': run 'xgate login NAME'")
    if claims["jti"] in _revoked(settings):
        raise Refused("this sign-in was ended by signing out: sign in again")
    return user


def _revoked_path(settings: Settings) -> Path:
    return store.access_dir(settings) / "revoked-tokens.json"


def _ended(path: Path) -> dict[str, int]:
    """A list of ended sign-ins (token ids or users, with the time that counts)."""
    return json.loads(path.read_bytes()) if path.exists() else {}


def _revoked(settings: Settings) -> dict[str, int]:
    return _ended(_revoked_path(settings))


def revoke(settings: Settings, token: str) -> None:
    """End this one token (the web's sign-out), a copy of it too, before it expires; the user's other sign-ins
    go on. Kept until the token would have expired anyway, so the list stays as short as the live tokens."""
    try:
        claims = _claims(settings, token)
        jti, expires = str(claims["jti"]), int(claims["exp"])
    except (Refused, ValueError, KeyError, TypeError):
        return  # not a token of ours: it proves nothing, so there is nothing to end
    with store.exclusive(_revoked_path(settings).with_suffix(".lock")):
        now = time.time()
        live = {k: v for k, v in _revoked(settings).items() if v > now}
        store.write_private(_revoked_path(settings), json.dumps(live | {jti: expires}, sort_keys=True).encode())


def _signed_out_path(settings: Settings) -> Path:
    return store.access_dir(settings) / "signed-out.json"


def _signed_out(settings: Settings) -> dict[str, int]:
    return _ended(_signed_out_path(settings))


def sign_out(settings: Settings, user: User) -> None:
    """End every token ``user`` holds (a copy of one too): tokens issued up to now count no more."""
    with store.exclusive(_signed_out_path(settings).with_suffix(".lock")):
        ended = _signed_out(settings) | {user.name: int(time.time())}
        store.write_private(_signed_out_path(settings), json.dumps(ended, sort_keys=True).encode())


def token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xgate" / "token"


def save_token(token: str) -> Path:
    path = token_file()
    store.private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    return path


def sudo_caller(settings: Settings) -> int | None:
    """The uid of the account that ran xgate through ``sudo -u <service account>``, when this process runs
    as the account owning the access folder (no one else can set these variables and be believed)."""
    caller, caller_uid = os.environ.get("SUDO_USER"), os.environ.get("SUDO_UID", "")
    folder = store.access_dir(settings)
    if not (caller and caller_uid.isdigit() and folder.exists() and folder.stat().st_uid == os.getuid()):
        return None
    try:
        return int(caller_uid) if pwd.getpwuid(int(caller_uid)).pw_name == caller else None
    except KeyError:
        return None


def os_account(settings: Settings) -> str:
    """The account this process runs under; the sudo caller's when running as the service account."""
    caller = sudo_caller(settings)
    return pwd.getpwuid(os.getuid() if caller is None else caller).pw_name


def current(settings: Settings) -> User:
    """The calling user: a valid sign-in token, else the mapped OS account; :class:`Refused` otherwise.
    Through sudo only the calling account counts: a token there would be the service account's, shared."""
    token = settings.token.get_secret_value() if settings.token else None
    if token is None and token_file().exists():
        token = token_file().read_text(encoding="utf-8")
    if token and sudo_caller(settings) is None:
        try:
            return from_token(settings, token)
        except (ValueError, KeyError, TypeError):
            raise Refused("the sign-in token is not valid: run 'xgate login NAME'") from None
    account = os_account(settings)
    user = users.directory(settings).by_account(account)
    if user is None:
        raise Refused(f"OS account {account!r} is not an xgate user: sign in with 'xgate login NAME'")
    return user

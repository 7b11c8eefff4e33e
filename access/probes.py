"""Numbers a user has tried behind one mask, kept across calls: the guard against unmasking by guessing.

A mask shows part of an ID or phone number (``510421********8848``; with the year of birth shown too, 34
IDs fit). Any call that answers "is this number a person here?" (a look-up by ID or phone, a subject added
to a case, a list collided with the lake) is an oracle on the hidden part, one candidate per call: one
list per run, or one look-up at a time, stays under any per-call limit. So the guard counts per user, for
each mask, the distinct numbers tried over a window of days, whatever the command, the form written
(full-width, a 15-digit legacy ID is its 18-digit twin) or the outcome: a hit counts like a miss. Real
work rarely tries two numbers behind one mask (same area code, same last four), so a few are allowed;
past them every such call is refused, and the refusal is audited like any.

Kept as keyed hashes only (of the mask and of the number), owner-only, under ``<access dir>/probes/``.
"""

from __future__ import annotations

import json
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from stdnum.cn import ric

from access import store
from access.users import Refused
from contracts.masking import mask_value
from xgate.settings import Settings

ENUMERATION = 3  # distinct numbers a user may try behind one mask within the window
WINDOW = timedelta(days=30)


def normalised(value: str) -> str:
    """The number as the lake holds it: half-width, trimmed, upper-case, a 15-digit ID as its 18-digit twin."""
    text = unicodedata.normalize("NFKC", str(value)).replace(" ", "").strip().upper()
    if len(text) == 15 and text.isdigit():
        body = f"{text[:6]}19{text[6:]}"
        return body + ric.calc_check_digit(body + "0")
    return text


def masked_as(value: str) -> str:
    """How policy would show the number: what the tries of one guess have in common."""
    return str(mask_value(normalised(value)))


def _token(settings: Settings, text: str) -> str:
    return store.mac(settings, "subject", text.encode())[:24]


def tried(settings: Settings, user: str, values: Iterable[str], allowance: int = ENUMERATION) -> None:
    """Record that ``user`` tries ``values`` now; refuse (before anything runs) when one mask would then cover
    more than ``allowance`` distinct numbers within the window. Nothing is recorded for a refused call."""
    wanted: dict[str, set[str]] = {}
    for value in values:
        if value and str(value).strip():
            number = normalised(value)
            wanted.setdefault(_token(settings, f"mask:{masked_as(number)}"), set()).add(
                _token(settings, f"number:{number}")
            )
    refusal = (
        "too many different numbers tried behind one mask (they differ only in digits the mask hides): more than "
        f"{allowance} in {WINDOW.days} days looks like guessing, not a look-up; refused"
    )
    counted(settings, user, {mask: (numbers, allowance, WINDOW, refusal) for mask, numbers in wanted.items()})


def searched(settings: Settings, user: str, name: str, born: str, guesses: int, per_day: int) -> None:
    """A search by name and birth date: refused past ``per_day`` searches in a day, or when the name would then
    have been tried with more than ``guesses`` birth dates (or the date with as many names) in the window."""
    name_token, born_token = _token(settings, f"name:{name}"), _token(settings, f"born:{born}")
    now = datetime.now(UTC).isoformat()
    guessing = (
        f"this name or birth date was searched with more than {guesses} others in {WINDOW.days} days: it looks "
        "like guessing what a mask hides, not finding a person; refused"
    )
    counted(
        settings,
        user,
        {
            "searches": ({f"{now}/{secrets.token_hex(4)}"}, per_day, timedelta(days=1),
                         f"at most {per_day} name and birth date searches a day (XGATE_NAME_SEARCHES)"),
            f"name/{name_token}": ({born_token}, guesses, WINDOW, guessing),
            f"born/{born_token}": ({name_token}, guesses, WINDOW, guessing),
        },
    )  # fmt: skip


def counted(settings: Settings, user: str, wanted: dict[str, tuple[set[str], int, timedelta, str]]) -> None:
    """Add the items to each of the user's buckets {bucket: (items, allowance, window, refusal)}, or refuse with
    that bucket's words (adding nothing anywhere) when one would then hold more than its allowance within its
    window."""
    if not wanted:
        return
    folder = store.private_dir(store.access_dir(settings) / "probes")
    path = folder / f"{_token(settings, user)}.json"
    now = datetime.now(UTC)
    with store.exclusive(folder / ".lock"):
        try:
            kept: dict[str, dict[str, str]] = json.loads(path.read_bytes())
        except FileNotFoundError:
            kept = {}
        except ValueError:  # a damaged record vouches for nothing: every bucket used now starts at its limit
            kept = {b: {f"damaged-{i}": now.isoformat() for i in range(most)} for b, (_, most, *_) in wanted.items()}
        longest = max([WINDOW, timedelta(days=1)] + [window for _, _, window, _ in wanted.values()])
        kept = {b: fresh for b, items in kept.items() if (fresh := _since(items, now - longest))}
        for bucket, (items, most, window, refusal) in wanted.items():
            if len(set(_since(kept.get(bucket, {}), now - window)) | items) > most:
                raise Refused(refusal)
        for bucket, (items, *_) in wanted.items():
            for item in items:
                kept.setdefault(bucket, {}).setdefault(item, now.isoformat())
        store.write_private(path, json.dumps(kept, sort_keys=True).encode())


def _since(items: dict[str, str], start: datetime) -> dict[str, str]:
    return {item: at for item, at in items.items() if at >= start.isoformat()}

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


def tried(settings: Settings, user: str, values: Iterable[str], allowance: int = ENUMERATION) -> None:
    """Record that ``user`` tries ``values`` now; refuse (before anything runs) when one mask would then cover
    more than ``allowance`` distinct numbers within the window. Nothing is recorded for a refused call."""
    wanted: dict[str, set[str]] = {}
    for value in values:
        if value and str(value).strip():
            number = normalised(value)
            mask = store.mac(settings, "subject", f"mask:{masked_as(number)}".encode())[:24]
            wanted.setdefault(mask, set()).add(store.mac(settings, "subject", f"number:{number}".encode())[:24])
    if not wanted:
        return
    folder = store.private_dir(store.access_dir(settings) / "probes")
    path = folder / f"{store.mac(settings, 'subject', user.encode())[:24]}.json"
    now = datetime.now(UTC)
    with store.exclusive(folder / ".lock"):
        try:
            kept: dict[str, dict[str, str]] = json.loads(path.read_bytes())
        except FileNotFoundError:
            kept = {}
        except ValueError:  # a damaged record vouches for nothing: every mask tried now starts at the limit
            kept = {mask: {f"damaged-{i}": now.isoformat() for i in range(allowance)} for mask in wanted}
        since = (now - WINDOW).isoformat()
        kept = {
            mask: fresh for mask, numbers in kept.items() if (fresh := {n: t for n, t in numbers.items() if t >= since})
        }
        for mask, numbers in wanted.items():
            if len(set(kept.get(mask, {})) | numbers) > allowance:
                raise Refused(
                    "too many different numbers tried behind one mask (they differ only in digits the mask "
                    f"hides): more than {allowance} in {WINDOW.days} days looks like guessing, not a look-up; refused"
                )
        for mask, numbers in wanted.items():
            for number in numbers:
                kept.setdefault(mask, {}).setdefault(number, now.isoformat())
        store.write_private(path, json.dumps(kept, sort_keys=True).encode())

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
import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from stdnum.cn import ric

from access import store
from access.users import Refused
from contracts.masking import mask_value
from xgate.settings import Settings

ENUMERATION = 3  # distinct IDs a user may try behind one mask and year of birth within the window
PHONES = 10  # distinct phone numbers behind one mask (10,000 numbers hide behind each: guessing needs thousands)
WINDOW = timedelta(days=30)


def normalised(value: str) -> str:
    """The number as the linker and the lake read it: half-width, every sign and blank gone (dashes, dots,
    tabs...), upper-case, a phone without its +86 / 0086, a 15-digit ID as its 18-digit twin."""
    text = re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", str(value)).upper())
    if text.isdigit() and len(text) in (13, 15) and text.removeprefix("00").startswith("861"):
        return text.removeprefix("00")[2:]  # a mobile number with its country code
    if len(text) == 15 and text.isdigit():
        body = f"{text[:6]}19{text[6:]}"
        return body + ric.calc_check_digit(body + "0")
    return text


def masked_as(value: str) -> str:
    """What the tries of one guess have in common: the number as policy shows it, and for an 18-digit ID the
    year of birth too (shown beside it as ``1944-**-**``), so people who merely share a region and last four
    digits (thirty in a county) are not taken for one person guessed at."""
    number = normalised(value)
    shown = str(mask_value(number))
    return f"{shown}/{number[6:10]}" if len(number) == 18 and shown != number else shown


def _date(value: object) -> str:
    """A birth date however it is written (1944-04-08, 1944/4/8, 19440408, 1944年4月8日) as YYYY-MM-DD; any other
    text as it is (it still counts as a date tried)."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    parts = re.findall(r"[0-9]+", text)
    if len(parts) == 1 and len(parts[0]) == 8:
        parts = [parts[0][:4], parts[0][4:6], parts[0][6:]]
    if len(parts) >= 3 and len(parts[0]) == 4:
        return f"{parts[0]}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    return text


def allowance(number: str) -> int:
    return PHONES if re.fullmatch(r"1[0-9]{10}", normalised(number)) else ENUMERATION


def _token(settings: Settings, text: str) -> str:
    return store.mac(settings, "subject", text.encode())[:24]


def tried(settings: Settings, user: str, values: Iterable[str]) -> None:
    """Record that ``user`` tries ``values`` now; refuse (before anything runs) when one mask would then cover
    more distinct numbers than it allows within the window. Nothing is recorded for a refused call."""
    wanted: dict[str, tuple[set[str], int, timedelta, str]] = {}
    for value in values:
        if value and str(value).strip():
            number = normalised(value)
            most = allowance(number)
            refusal = (
                "too many different numbers tried behind one mask (they differ only in digits the mask hides): "
                f"more than {most} in {WINDOW.days} days looks like guessing, not a look-up; refused"
            )
            bucket = wanted.setdefault(_token(settings, f"mask:{masked_as(number)}"), (set(), most, WINDOW, refusal))
            bucket[0].add(_token(settings, f"number:{number}"))
    counted(settings, user, wanted)


def reading(name: str) -> str | None:
    """The toneless pinyin of a name as the linker reads it: homophones (张伟 / 张炜) are one name to the guard,
    as they are one name to the matcher."""
    from linkage.features import pinyin_of

    cleaned = re.sub(r"[•・‧∙⋅．.]", "·", "".join(unicodedata.normalize("NFKC", name or "").split()).lower())
    return pinyin_of([cleaned])[0][0] if cleaned else None


def _person_buckets(
    settings: Settings, name_py: str, born: str, most: int, refusal: str
) -> dict[str, tuple[set[str], int, timedelta, str]]:
    """One name (as pinyin) and year of birth tried with birth dates, and one birth date and family name tried
    with names: what a masked ``1944-**-**`` or ``张*`` hides, guessed one candidate at a time. The family
    name counts by the first letter of the whole name's pinyin: the matcher compares that whole string only,
    so where a guess puts its first syllable (``黄伟``, ``huang伟``, ``花ng伟``) changes neither the match nor
    the count."""
    return {
        _token(settings, f"name:{name_py}/{born[:4]}"): ({_token(settings, f"born:{born}")}, most, WINDOW, refusal),
        _token(settings, f"born:{born}/{name_py[:1]}"): (
            {_token(settings, f"name:{name_py}")}, most, WINDOW, refusal,
        ),
    }  # fmt: skip


def people(settings: Settings, user: str, rows: Iterable[tuple[str | None, object]]) -> None:
    """A list's rows that name a person by name and birth date (no ID: a row with one is matched on it), as
    the linker reads them ``(name as pinyin, birth date)``. Refused when one name and
    year of birth would then have been tried with more than :data:`ENUMERATION` dates, or one date and family
    name with as many names, within the window, counted with the user's searches by name and birth date
    (:func:`searched`)."""
    refusal = (
        f"the list tries one name with more than {ENUMERATION} birth dates of a year, or one birth date with more "
        f"than {ENUMERATION} names of one family name, in {WINDOW.days} days: it looks like guessing; refused"
    )
    wanted: dict[str, tuple[set[str], int, timedelta, str]] = {}
    for name_py, born in rows:
        if not name_py or not born:
            continue
        for bucket, (items, *rest) in _person_buckets(settings, name_py, _date(born), ENUMERATION, refusal).items():
            wanted.setdefault(bucket, (set(), *rest))[0].update(items)
    counted(settings, user, wanted)


def searched(settings: Settings, user: str, name: str, born: str, guesses: int, per_day: int) -> None:
    """A search by name and birth date: refused past ``per_day`` searches in a day, or when the name would then
    have been searched with more than ``guesses`` birth dates of any year (or the date with as many names of
    any family), or tried with more than ``guesses`` dates of its year by lists and searches together
    (:func:`people`: one allowance, whatever the route), in the window. Names as pinyin: a homophone is the
    same name."""
    name_py = reading(name)
    name_py, born = name_py or name, _date(born)
    now = datetime.now(UTC).isoformat()
    guessing = (
        f"this name or birth date was searched with more than {guesses} others in {WINDOW.days} days: it looks "
        "like guessing what a mask hides, not finding a person; refused"
    )
    name_token, born_token = _token(settings, f"name:{name_py}"), _token(settings, f"born:{born}")
    wanted = {
        "searches": ({f"{now}/{secrets.token_hex(4)}"}, per_day, timedelta(days=1),
                     f"at most {per_day} name and birth date searches a day (XGATE_NAME_SEARCHES)"),
        f"name/{name_token}": ({born_token}, guesses, WINDOW, guessing),
        f"born/{born_token}": ({name_token}, guesses, WINDOW, guessing),
    }  # fmt: skip
    for bucket, (items, *rest) in _person_buckets(settings, name_py, born, guesses, guessing).items():
        wanted[bucket] = (items, *rest)
    counted(settings, user, wanted)


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

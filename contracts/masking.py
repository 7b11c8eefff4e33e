"""Masking by a field's contract classification: the one place personal values are made safe to show.

``personal`` values are partly masked (``110105********002X``, ``138****1234``, ``张*``, ``1986-**-**``); ``sensitive``
values are hidden; ``not-shared`` fields never leave (dropped). ``public`` and ``internal`` pass.
"""

from __future__ import annotations

import re

from connectors.staging import LINEAGE
from contracts.checks import Field

HIDDEN = "[hidden]"
_PHONE = re.compile(r"^1\d{10}$")
_ID = re.compile(r"^[0-9]{6}[0-9X]{8,12}$", re.IGNORECASE)
_DATE = re.compile(r"^([0-9]{4})-[0-9]{2}-[0-9]{2}([ T].*)?$")


def mask_value(value: object) -> object:
    if value is None or value == "":
        return value
    text = str(value)
    if _ID.match(text):
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    if _PHONE.match(text):
        return text[:3] + "****" + text[-4:]
    if date := _DATE.match(text):  # a birth or activation date: the year says enough
        return f"{date[1]}-**-**" + (" **:**" if date[2] else "")
    if len(text) <= 4 and all("\u4e00" <= c <= "\u9fff" or c == "·" for c in text):
        return text[0] + "*" * (len(text) - 1)
    if len(text) > 8:
        return text[:4] + "*" * (len(text) - 8) + text[-4:]
    return text[0] + "*" * (len(text) - 1)


def mask_record(record: dict, fields: dict[str, Field]) -> dict:
    """A record fit to show: masked, hidden or dropped field by field; unknown fields are hidden."""
    shown = {}
    for name, value in record.items():
        spec = fields.get(name.removesuffix("__original"))
        if name in LINEAGE:  # where the row came from, never personal
            shown[name] = value
        elif spec is None:
            shown[name] = HIDDEN
        elif spec.sharing == "not-shared":
            continue
        elif spec.classification == "sensitive":
            shown[name] = HIDDEN
        elif spec.classification == "personal":
            shown[name] = mask_value(value)
        else:
            shown[name] = value
    return shown

"""Masking by a field's contract classification: the one place personal values are made safe to show.

``personal`` values are partly masked (``110105********002X``, ``138****1234``, ``张*``, ``1986-**-**``); ``sensitive``
values are hidden; ``not-shared`` fields never leave (dropped). ``public`` and ``internal`` pass.

The same rule exists twice, for the two places values are masked: :func:`mask_value` in Python (reports,
records shown one by one) and :data:`MASK_MACRO` in DuckDB SQL, which the access layer applies *before*
a query sees a value. A test holds the two equal on every kind of value.
"""

from __future__ import annotations

import re

from connectors.staging import LINEAGE
from contracts.checks import Field

HIDDEN = "[hidden]"
_HALF = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")  # full-width digits count as digits
_PHONE = re.compile(r"1[0-9]{10}")
_ID = re.compile(r"[0-9]{6}[0-9Xx]{8,12}")
_DATE = re.compile(r"([0-9]{4})[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?([ T].*)?")  # the formats departments use
_NAME = re.compile(r"[\u4e00-\u9fff·]+")


def mask_value(value: object) -> object:
    if value is None or value == "":
        return value
    text = str(value).translate(_HALF)
    if _ID.fullmatch(text):  # an 18-digit ID keeps its sequence and check; any other length its sequence
        keep = 4 if len(text) == 18 else 3  # (a 15-digit ID's 4th-last digit is a birth day's: its old twin)
        return text[:6] + "*" * (len(text) - 6 - keep) + text[-keep:]
    if _PHONE.fullmatch(text):
        return text[:3] + "****" + text[-4:]
    if date := _DATE.fullmatch(text):  # a birth or activation date: the year says enough
        return f"{date[1]}-**-**" + (" **:**" if date[2] else "")
    if _NAME.fullmatch(text):  # a name, however long (阿依古丽·买买提): its first character
        return text[0] + "*" * (len(text) - 1)
    if len(text) > 8:
        return text[:4] + "*" * (len(text) - 8) + text[-4:]
    return text[0] + "*" * (len(text) - 1)


# DuckDB's twin of mask_value, for text (the caller casts): ID, mobile, date or instant, short Chinese
# name, long text, short text, in that order, as above.
MASK_MACRO = r"""CREATE OR REPLACE TEMP MACRO xg_mask_text(v) AS CASE
  WHEN v IS NULL OR v = '' THEN v
  WHEN regexp_full_match(v, '[0-9]{6}[0-9Xx]{12}') THEN left(v, 6) || repeat('*', 8) || right(v, 4)
  WHEN regexp_full_match(v, '[0-9]{6}[0-9Xx]{8,11}') THEN left(v, 6) || repeat('*', length(v) - 9) || right(v, 3)
  WHEN regexp_full_match(v, '1[0-9]{10}') THEN left(v, 3) || '****' || right(v, 4)
  WHEN regexp_full_match(v, '[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?') THEN left(v, 4) || '-**-**'
  WHEN regexp_full_match(v, '[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?[ T][^\n]*') THEN left(v, 4) || '-**-** **:**'
  WHEN regexp_full_match(v, '[\x{4e00}-\x{9fff}·]+') THEN left(v, 1) || repeat('*', length(v) - 1)
  WHEN length(v) > 8 THEN left(v, 4) || repeat('*', length(v) - 8) || right(v, 4)
  ELSE left(v, 1) || repeat('*', length(v) - 1) END;
CREATE OR REPLACE TEMP MACRO xg_mask(v) AS list_transform([CASE WHEN strlen(v) = length(v) THEN v
  ELSE translate(v, '０１２３４５６７８９Ｘｘ', '0123456789Xx') END], x -> xg_mask_text(x))[1]"""
# xg_mask reads its value through a lambda: a macro puts its argument wherever the body names it (fifteen
# times here), and planning a look-up's masked columns cost 3x what it does this way (21 -> 7 ms for five
# columns); masking whole relations costs about a fifth more


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

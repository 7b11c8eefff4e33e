"""The GB/T 2260 administrative-division codes a resident ID's first six digits must be, with the years
each code was in force: the list python-stdnum ships (``stdnum/cn/loc.dat``). County level only:
province and prefecture codes (and the "市辖区" placeholders) never appear in an ID. The ``resident_id``
check reads it; so does the sandbox, to give its synthetic people IDs that pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

_LINE = re.compile(r"^(\s*)(\d+) (\w+)=\"(.*)\"")
_SPAN = re.compile(r"^\[(\d*)-(\d*)\](.*)$")


@dataclass(frozen=True)
class AreaCode:
    """A county-level GB/T 2260 code and the years it was in force (inclusive; None = open)."""

    code: str
    name: str
    first_year: int | None
    last_year: int | None

    def valid_in(self, year: int) -> bool:
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )


@cache
def area_codes() -> tuple[AreaCode, ...]:
    """All county-level codes of GB/T 2260 (no province or prefecture-level codes, which IDs never carry)."""
    text = files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    codes: list[AreaCode] = []
    province = ""
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        indent, digits, _, value = match.groups()
        if not indent:
            province = digits
            continue
        code = province + digits
        if code.endswith("00") or code[4:] in ("01", "20"):
            continue  # prefecture-level or "市辖区"/"市区" placeholders
        for part in value.split(","):
            span = _SPAN.match(part)
            if span:
                first, last, name = span.groups()
                codes.append(AreaCode(code, name, int(first) if first else None, int(last) if last else None))
            else:
                codes.append(AreaCode(code, part, None, None))
    return tuple(codes)


@cache
def area_codes_valid_in(year: int, prefix: str = "") -> tuple[str, ...]:
    """County codes (optionally under a prefix) that a person born in ``year`` may carry."""
    return tuple(sorted({a.code for a in area_codes() if a.code.startswith(prefix) and a.valid_in(year)}))

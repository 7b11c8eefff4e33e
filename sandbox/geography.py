"""Where the synthetic population lives: one real prefecture, and the GB/T 2260 code list.

The county codes are the real GB/T 2260 codes of Panzhihua (攀枝花市, 5104), the city of report 000.
Sub-district names are those of the city; their three-digit sequence numbers inside our standard
address codes are assigned by the sandbox. ID-number area codes come from the GB/T 2260 list that
python-stdnum ships (``stdnum/cn/loc.dat``), honouring the years each code was in force, so every clean
ID we generate passes ``stdnum.cn.ric.validate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

PROVINCE = "四川省"
PREFECTURE = "攀枝花市"
PREFECTURE_CODE = "5104"


@dataclass(frozen=True)
class County:
    code: str
    name: str
    subdistricts: tuple[str, ...]


COUNTIES: tuple[County, ...] = (
    County("510402", "东区", ("炳草岗街道", "大渡口街道", "东华街道", "弄弄坪街道", "瓜子坪街道", "银江镇")),
    County("510403", "西区", ("清香坪街道", "玉泉街道", "河门口街道", "陶家渡街道", "格里坪镇")),
    County("510411", "仁和区", ("仁和镇", "大河中路街道", "金江镇", "同德镇", "前进镇")),
    County("510421", "米易县", ("攀莲镇", "丙谷镇", "撒莲镇", "白马镇")),
    County("510422", "盐边县", ("桐子林镇", "红格镇", "新九镇", "渔门镇")),
)
COUNTY_WEIGHTS = (0.32, 0.18, 0.2, 0.16, 0.14)

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

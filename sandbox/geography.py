"""Where the synthetic population lives: one real prefecture (GB/T 2260 county codes, its sub-districts).

The county codes are the real GB/T 2260 codes of Panzhihua (攀枝花市, 5104), the city of report 000.
Sub-district names are those of the city; their three-digit sequence numbers inside our standard
address codes are assigned by the sandbox. ID-number area codes come from the GB/T 2260 list the
contracts check against (``contracts.areas``), honouring the years each code was in force, so every
clean ID we generate passes ``stdnum.cn.ric.validate``.
"""

from __future__ import annotations

from dataclasses import dataclass

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

"""The ground truth: one synthetic prefecture of people, households, addresses, phones and units.

Department tables (``sandbox.departments``) are views of this truth with real-world imperfections
planted on top. Everything here is drawn from one ``numpy`` generator and one seeded Faker, in a
fixed order, so the same seed gives the same population byte for byte. Faker (zh_CN) supplies the
vocabularies (surnames with their real frequencies, given-name characters, road names, company
names); numpy does the per-person draws, which is what keeps a million people under two minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from faker import Faker
from faker.providers.person.zh_CN import Provider as PersonProvider
from stdnum.cn import ric, uscc

from contracts.areas import area_codes_valid_in
from sandbox import geography

# The sandbox's "now": generated data is stable across days; wave 0 ends just before it.
REFERENCE_TIME = datetime(2026, 11, 1, 0, 0, 0)
REFERENCE_DAY = np.datetime64("2026-11-01", "D")

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5)
HOUSEHOLD_SIZE_WEIGHTS = (0.22, 0.30, 0.28, 0.14, 0.06)
ETHNICITIES = ("汉族", "彝族", "傈僳族", "苗族", "回族")
ETHNICITY_WEIGHTS = (0.90, 0.06, 0.015, 0.01, 0.015)
YI_CLAN_NAMES = ("吉克", "阿苏", "沙马", "马海", "俄木", "阿力", "吉伍", "海来")
YI_GIVEN_NAMES = ("阿呷", "拉且", "石一", "尔古", "木呷", "日火", "阿依", "伍各")
# Mobile prefixes of the three carriers (工信部 number plan).
CARRIER_PREFIXES = {
    "中国移动": (
        "134",
        "135",
        "136",
        "137",
        "138",
        "139",
        "150",
        "151",
        "152",
        "157",
        "158",
        "159",
        "182",
        "183",
        "187",
        "188",
        "198",
    ),
    "中国联通": ("130", "131", "132", "155", "156", "166", "185", "186"),
    "中国电信": ("133", "153", "173", "177", "180", "181", "189", "199"),
}
VACANT_ADDRESS_SHARE = 0.25  # rental stock with nobody registered at it


@dataclass
class Population:
    """Column arrays of the truth; index = the internal person/household/address/phone number."""

    # people
    id_number: np.ndarray
    name: np.ndarray
    sex: np.ndarray  # 1 male, 2 female (GB/T 2261.1)
    ethnicity: np.ndarray
    birth_date: np.ndarray  # datetime64[D]
    household: np.ndarray  # index into households
    died_on: np.ndarray  # datetime64[D], NaT when alive
    # households
    household_address: np.ndarray  # index into addresses
    household_head: np.ndarray  # index into people
    # addresses
    address_code: np.ndarray
    address_text: np.ndarray
    address_subdistrict: np.ndarray
    # phones (one row per number ever held)
    phone_number: np.ndarray
    phone_owner: np.ndarray  # index into people
    phone_carrier: np.ndarray
    phone_activated: np.ndarray  # datetime64[s]
    phone_cancelled: np.ndarray  # datetime64[s], NaT when still active
    # units (organisations)
    unit_code: np.ndarray
    unit_name: np.ndarray

    @property
    def size(self) -> int:
        return len(self.id_number)


def _choice(rng: np.random.Generator, options: tuple | list | np.ndarray, size: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p)]


def _concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of object arrays and constants."""
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + (part if isinstance(part, str) else np.asarray(part, dtype=object))
    return out


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(str), width).astype(object)


def _unique_draw(draw, size: int) -> np.ndarray:
    """Draw until ``size`` distinct values exist, keeping first-drawn order (deterministic)."""
    values = draw(int(size * 1.1) + 16)
    while True:
        _, first = np.unique(values, return_index=True)
        kept = values[np.sort(first)]
        if len(kept) >= size:
            return kept[:size]
        values = np.concatenate([kept, draw(size - len(kept) + 16)])


class _Builder:
    def __init__(self, people: int, seed: int) -> None:
        self.n = people
        self.rng = np.random.default_rng(seed)
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(seed)

    def build(self) -> Population:
        rng, n = self.rng, self.n
        sizes = _choice(rng, HOUSEHOLD_SIZES, n // 2 + 1, HOUSEHOLD_SIZE_WEIGHTS).astype(np.int64)
        households = int(np.searchsorted(np.cumsum(sizes), n)) + 1
        sizes = sizes[:households]
        sizes[-1] -= int(sizes.sum()) - n
        household = np.repeat(np.arange(households), sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        is_head = np.zeros(n, dtype=bool)
        is_head[starts] = True

        sex = rng.choice([1, 2], size=n)
        birth = self._birth_dates(is_head)
        ethnicity = _choice(rng, ETHNICITIES, n, ETHNICITY_WEIGHTS)
        name = self._names(sex, ethnicity, household, starts)
        id_number = self._id_numbers(birth, sex)
        died_on = self._deaths(birth)

        addresses = int(households * (1 + VACANT_ADDRESS_SHARE))
        code, text, subdistrict = self._addresses(addresses)
        household_address = rng.permutation(addresses)[:households]
        phones = self._phones(birth, died_on)
        units = self._units(max(10, n // 50))
        return Population(
            id_number=id_number,
            name=name,
            sex=sex,
            ethnicity=ethnicity,
            birth_date=birth,
            household=household,
            died_on=died_on,
            household_address=household_address,
            household_head=starts,
            address_code=code,
            address_text=text,
            address_subdistrict=subdistrict,
            phone_number=phones[0],
            phone_owner=phones[1],
            phone_carrier=phones[2],
            phone_activated=phones[3],
            phone_cancelled=phones[4],
            unit_code=units[0],
            unit_name=units[1],
        )

    def _birth_dates(self, is_head: np.ndarray) -> np.ndarray:
        lo, hi = np.datetime64("1938-01-01"), np.datetime64("2025-12-31")
        head_hi = np.datetime64("2004-12-31")
        days = self.rng.integers(0, (hi - lo).astype(int), size=self.n)
        head_days = self.rng.integers(0, (head_hi - lo).astype(int), size=self.n)
        return lo + np.where(is_head, head_days, days).astype("timedelta64[D]")

    def _names(self, sex, ethnicity, household, starts) -> np.ndarray:
        rng, n = self.rng, self.n
        surnames = list(PersonProvider.last_names.keys())
        weights = np.array(list(PersonProvider.last_names.values()), dtype=float)
        surname = _choice(rng, surnames, n, weights / weights.sum())
        # Children mostly carry the head's surname.
        inherit = rng.random(n) < 0.6
        surname = np.where(inherit, surname[starts[household]], surname)
        male_chars = sorted({c for name in PersonProvider.first_names_male for c in name})
        female_chars = sorted({c for name in PersonProvider.first_names_female for c in name})
        first = np.where(sex == 1, _choice(rng, male_chars, n), _choice(rng, female_chars, n))
        second = np.where(sex == 1, _choice(rng, male_chars, n), _choice(rng, female_chars, n))
        given = np.where(rng.random(n) < 0.7, _concat(first, second), first)
        names = _concat(surname, given)
        dotted = (ethnicity == "彝族") & (rng.random(n) < 0.4)
        yi = _concat(_choice(rng, YI_CLAN_NAMES, n), "·", _choice(rng, YI_GIVEN_NAMES, n))
        return np.where(dotted, yi, names)

    def _id_numbers(self, birth: np.ndarray, sex: np.ndarray) -> np.ndarray:
        rng, n = self.rng, self.n
        years = birth.astype("datetime64[Y]").astype(int) + 1970
        area = np.empty(n, dtype=object)
        local = rng.random(n) < 0.8
        for year in np.unique(years):
            rows = years == year
            pool = area_codes_valid_in(int(year), geography.PREFECTURE_CODE)
            everywhere = area_codes_valid_in(int(year))
            area[rows & local] = _choice(rng, pool, int((rows & local).sum()))
            area[rows & ~local] = _choice(rng, everywhere, int((rows & ~local).sum()))
        ymd = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "").astype(object)
        seq = np.empty(n, dtype=np.int64)
        todo = np.ones(n, dtype=bool)
        while todo.any():  # a (place, day, sequence) must be unique; redraw clashes
            draw = rng.integers(0, 500, size=int(todo.sum())) * 2 + (sex[todo] == 1)
            seq[todo] = draw
            body = _concat(area, ymd, _digits(seq, 3))
            _, first = np.unique(body, return_index=True)
            todo = np.ones(n, dtype=bool)
            todo[first] = False
        return np.array([b + ric.calc_check_digit(b + "0") for b in body], dtype=object)

    def _deaths(self, birth: np.ndarray) -> np.ndarray:
        age = (REFERENCE_DAY - birth).astype(int) / 365.25
        p = np.where(age >= 60, 0.04, 0.003)
        dies = self.rng.random(self.n) < p
        lo = np.datetime64("2023-01-01")
        days = self.rng.integers(0, (np.datetime64("2026-09-30") - lo).astype(int), size=self.n)
        died = lo + days.astype("timedelta64[D]")
        return np.where(dies & (died > birth), died, np.datetime64("NaT"))

    def _addresses(self, count: int):
        """Standard addresses; the 25-digit code is county, sub-district, road, number, building, unit, room."""
        rng, counties = self.rng, geography.COUNTIES
        road_names = np.array(sorted({self.faker.street_name() for _ in range(400)})[:40], dtype=object)
        sub_counts = np.array([len(c.subdistricts) for c in counties])
        county_codes = np.array([c.code for c in counties], dtype=object)

        def draw(size: int) -> np.ndarray:
            county = rng.choice(len(counties), size=size, p=geography.COUNTY_WEIGHTS)
            room = rng.integers(1, 33, size=size) * 100 + rng.integers(1, 5, size=size)
            return _concat(
                county_codes[county],
                _digits(rng.integers(0, 60, size=size) % sub_counts[county] + 1, 3),
                _digits(rng.integers(1, len(road_names) + 1, size=size), 3),
                _digits(rng.integers(1, 400, size=size), 4),
                _digits(rng.integers(1, 41, size=size), 3),
                _digits(rng.integers(1, 7, size=size), 2),
                _digits(room, 4),
            )

        code = _unique_draw(draw, count)
        county = {c.code: c for c in counties}
        parts = [
            (county[c[:6]], int(c[6:9]), int(c[9:12]), int(c[12:16]), int(c[16:19]), int(c[19:21]), int(c[21:]))
            for c in code
        ]
        subdistrict = np.array([cty.subdistricts[sub - 1] for cty, sub, *_ in parts], dtype=object)
        prefix = geography.PROVINCE + geography.PREFECTURE
        text = np.array(
            [
                f"{prefix}{cty.name}{cty.subdistricts[sub - 1]}{road_names[road - 1]}{num}号{bldg}栋{unit}单元{room}室"
                for cty, sub, road, num, bldg, unit, room in parts
            ],
            dtype=object,
        )
        return code, text, subdistrict

    def _phones(self, birth: np.ndarray, died_on: np.ndarray):
        rng, n = self.rng, self.n
        adult = (REFERENCE_DAY - birth).astype(int) >= 16 * 365
        active = np.where(adult, np.where(rng.random(n) < 0.15, 2, 1), 0)
        old = (adult & (rng.random(n) < 0.10)).astype(int)
        owner = np.concatenate([np.repeat(np.arange(n), active), np.repeat(np.arange(n), old)])
        cancelled_flag = np.concatenate([np.zeros(int(active.sum()), bool), np.ones(int(old.sum()), bool)])
        total = len(owner)
        carriers = list(CARRIER_PREFIXES)
        prefix_of = [np.array(CARRIER_PREFIXES[c], dtype=object) for c in carriers]

        def draw(size: int) -> np.ndarray:
            c = rng.choice(len(carriers), size=size, p=(0.6, 0.2, 0.2))
            pre = np.array([prefix_of[k][rng.integers(0, len(prefix_of[k]))] for k in c], dtype=object)
            return _concat(pre, _digits(rng.integers(0, 10**8, size=size), 8))

        number = _unique_draw(draw, total)
        carrier_name = np.array(
            [next(k for k, v in CARRIER_PREFIXES.items() if x[:3] in v) for x in number], dtype=object
        )
        earliest = np.maximum(birth[owner] + np.timedelta64(16 * 365, "D"), np.datetime64("2010-01-01"))
        span = np.maximum((REFERENCE_DAY - np.timedelta64(30, "D") - earliest).astype(int), 1)
        activated = earliest + (rng.random(total) * span).astype("timedelta64[D]")
        activated = activated.astype("datetime64[s]") + rng.integers(8 * 3600, 20 * 3600, total).astype(
            "timedelta64[s]"
        )
        life = (rng.random(total) * ((REFERENCE_DAY - activated.astype("datetime64[D]")).astype(int))).astype(int)
        cancelled = np.where(
            cancelled_flag, activated + (life * 86400).astype("timedelta64[s]"), np.datetime64("NaT", "s")
        )
        return number, owner, carrier_name, activated, cancelled

    def _units(self, count: int):
        """Organisations with valid unified social credit codes (GB 32100) and Faker company names."""
        rng, faker = self.rng, self.faker
        prefixes = sorted({faker.company_prefix() for _ in range(600)})
        suffixes = sorted({faker.company_suffix() for _ in range(200)})
        county = rng.integers(0, len(geography.COUNTIES), size=count)
        names = _concat(
            geography.PREFECTURE[:3],
            np.array([c.name for c in geography.COUNTIES], dtype=object)[county],
            _choice(rng, prefixes, count),
            _choice(rng, suffixes, count),
        )
        alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"), dtype=object)

        def draw(size: int) -> np.ndarray:
            org = ["".join(row) for row in alphabet[rng.integers(0, len(alphabet), size=(size, 9))]]
            return _concat("91", _choice(rng, [c.code for c in geography.COUNTIES], size), np.array(org, dtype=object))

        body = _unique_draw(draw, count)
        return np.array([b + uscc.calc_check_digit(b) for b in body], dtype=object), names


def build_population(people: int, seed: int) -> Population:
    """Make the truth for ``people`` persons; identical for identical (people, seed)."""
    return _Builder(people, seed).build()

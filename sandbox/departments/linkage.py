"""Linkage noise: the ways one person's records disagree across departments, planted at known rates.

Planted after every department is built, on records of persons who carry no other anomaly, each
noisy record listed in the manifest beside a clean record of the same person (a ground-truth pair).
It also makes some of the planted discrepancies harder: a dead patient recorded without an ID (or
without an ID and with the name one character off), a second registration whose ID is one digit off,
a floating patient without an ID. Those entries carry ``variant`` in their detail; the others are
found by an exact ID join as before.

Every version of a record (wave 0 and wave 1) gets the same change, so a record stays one record.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pypinyin import lazy_pinyin
from stdnum.cn import ric

from sandbox.departments.world import World, legacy_15, one_char_diff

# kind -> (dataset, share of that dataset's eligible records); health noise lies on records without an ID,
# where the name and birth date are all there is to link on.
LINK_NOISE = {
    "link_missing_id": ("health.patients", 0.02),
    "link_homophone_name": ("health.patients", 0.005),
    "link_name_typo": ("health.patients", 0.005),
    "link_dob_swap": ("health.patients", 0.005),
    "link_id_swapped": ("telecom.subscribers", 0.004),
    "link_id_typo": ("telecom.subscribers", 0.004),
    "link_legacy_id": ("telecom.subscribers", 0.004),
    "link_phone_digit": ("housing.rentals", 0.01),
    "link_two_addresses": ("housing.properties", 0.02),
}
VARIANT_SHARE = {"missing_id": 0.2, "one_char": 0.15}  # of each discrepancy kind's anomalies
NAMESAKE = "王伟"  # the commonest full name in China: different people who must never be linked
NAMESAKE_PAIRS = 0.002  # pairs per person
NAME_COLUMN = {
    "civil.residents": "name",
    "civil.deaths": "name",
    "health.patients": "name",
    "telecom.subscribers": "name",
    "housing.properties": "owner_name",
    "housing.rentals": "tenant_name",
    "housing.rental_filings": "tenant_name",
}


def id_typo(id_number: str, taken: set[str], rng: np.random.Generator) -> str:
    """One sequence digit changed (sex digit kept), check character recomputed: a valid ID of nobody."""
    while True:
        spot = int(rng.integers(14, 16))
        digit = str((int(id_number[spot]) + int(rng.integers(1, 10))) % 10)
        body = id_number[:spot] + digit + id_number[spot + 1 : 17]
        typo = body + ric.calc_check_digit(body + "0")
        if typo not in taken:
            taken.add(typo)
            return typo


def id_swapped(id_number: str, rng: np.random.Generator) -> str:
    """Two neighbouring, different digits of the birth date or sequence swapped; check character kept."""
    spots = [i for i in range(6, 16) if id_number[i] != id_number[i + 1]]
    i = spots[int(rng.integers(len(spots)))]
    return id_number[:i] + id_number[i + 1] + id_number[i] + id_number[i + 2 :]


def homophone(name: str, sounds: dict[str, list[str]], rng: np.random.Generator) -> str | None:
    """The name with one given-name character replaced by another read the same (toneless pinyin)."""
    spots = [i for i, c in enumerate(name) if i > 0 and len(sounds.get(lazy_pinyin(c)[0], [])) > 1]
    if not spots:
        return None
    i = spots[int(rng.integers(len(spots)))]
    options = [c for c in sounds[lazy_pinyin(name[i])[0]] if c != name[i]]
    return name[:i] + options[int(rng.integers(len(options)))] + name[i + 1 :]


def phone_digit(phone: str, rng: np.random.Generator) -> str:
    spot = int(rng.integers(3, 11))
    return phone[:spot] + str((int(phone[spot]) + int(rng.integers(1, 10))) % 10) + phone[spot + 1 :]


class _Editor:
    """Column edits by record key, applied to every version of the record when done."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.edits: dict[tuple[str, str], dict[str, object]] = {}

    def column(self, dataset: str, name: str) -> dict[str, object]:
        return self.edits.setdefault((dataset, name), {})

    def apply(self) -> None:
        from sandbox.departments import PRIMARY_KEYS

        for (dataset, name), changes in self.edits.items():
            table = self.world.tables[dataset]
            keys = table.column(PRIMARY_KEYS[dataset]).to_numpy(zero_copy_only=False)
            index = table.schema.get_field_index(name)
            values = table.column(name).to_numpy(zero_copy_only=False).copy()
            if values.dtype != object:
                values = values.astype(object)
            # a set lookup per key: np.isin over object arrays compares every key with every change
            for row in np.flatnonzero(np.fromiter((k in changes for k in keys), bool, len(keys))):
                values[row] = changes[keys[row]]
            self.world.tables[dataset] = table.set_column(
                index, name, pa.array(values.tolist(), type=table.schema.field(index).type)
            )


def plant(world: World, name_pool: str) -> None:
    """Plant the linkage noise and the discrepancy variants; record the ground truth of each."""
    pop, rng, manifest = world.pop, world.rng, world.manifest
    editor = _Editor(world)
    truth = {
        d: dict(zip(np.concatenate([k for k, _ in parts]), np.concatenate([p for _, p in parts])))
        for d, parts in world.truth.items()
    }
    resident_of: dict[int, str] = {}
    for key, person in truth["civil.residents"].items():
        resident_of.setdefault(int(person), key)
    taken = set(pop.id_number.tolist())
    sounds: dict[str, list[str]] = {}
    for c in sorted(set(name_pool)):
        sounds.setdefault(lazy_pinyin(c)[0], []).append(c)
    _variants(world, editor, truth, taken, name_pool)

    def eligible(dataset: str, extra=None) -> tuple[np.ndarray, np.ndarray]:
        keys = np.array(sorted(truth[dataset]), dtype=object)
        persons = np.array([truth[dataset][k] for k in keys])
        keep = ~world.floating[persons] & np.isnat(pop.died_on[persons])
        if extra is not None:
            keep &= extra(keys, persons)
        return keys[keep], persons[keep]

    born_before_1990 = lambda keys, persons: pop.birth_date[persons] < np.datetime64("1990-01-01")  # noqa: E731
    flippable = lambda keys, persons: np.array(  # noqa: E731
        [(d := p.astype(object)).day <= 12 and d.day != d.month for p in pop.birth_date[persons]], dtype=bool
    )
    phones = world.tables["housing.rentals"].column("tenant_phone").to_numpy(zero_copy_only=False)
    rental_keys = world.tables["housing.rentals"].column("rental_id").to_numpy(zero_copy_only=False)
    phone_of = dict(zip(rental_keys, phones))
    plain_phone = lambda keys, persons: np.array([len(phone_of.get(k) or "") == 11 for k in keys])  # noqa: E731
    home = pop.address_code[pop.household_address[pop.household]]
    addresses = dict(
        zip(
            world.tables["housing.properties"].column("property_id").to_numpy(zero_copy_only=False),
            world.tables["housing.properties"].column("address_code").to_numpy(zero_copy_only=False),
        )
    )
    away = lambda keys, persons: np.array([addresses[k] != home[p] for k, p in zip(keys, persons)])  # noqa: E731
    sounding = lambda keys, persons: np.array(  # noqa: E731
        [homophone(pop.name[p], sounds, np.random.default_rng(0)) is not None for p in persons], dtype=bool
    )
    three = lambda keys, persons: np.array([len(pop.name[p]) >= 3 for p in persons], dtype=bool)  # noqa: E731
    extra = {
        "link_name_typo": three,
        "link_homophone_name": sounding,
        "link_dob_swap": flippable,
        "link_legacy_id": born_before_1990,
        "link_phone_digit": plain_phone,
        "link_two_addresses": away,
    }
    _namesakes(world, editor, truth, resident_of)
    for kind, (dataset, share) in LINK_NOISE.items():
        keys, persons = eligible(dataset, extra.get(kind))
        for row in world.pick(np.arange(len(keys)), share, persons):
            key, person = keys[row], int(persons[row])
            detail = _noise(kind, key, person, world, editor, sounds, taken, name_pool, rng, phone_of)
            if detail is None:
                continue
            manifest.add(kind, [(dataset, key), ("civil.residents", resident_of[person])], **detail)
    editor.apply()


def _noise(kind, key, person, world, editor, sounds, taken, name_pool, rng, phone_of) -> dict | None:
    """Change one record as ``kind`` says; the detail kept in the manifest (no personal value)."""
    pop = world.pop
    if LINK_NOISE[kind][0] == "health.patients":
        editor.column("health.patients", "id_number")[key] = None
        if kind == "link_homophone_name":
            name = homophone(pop.name[person], sounds, rng)
            if name is None:
                editor.column("health.patients", "id_number").pop(key)
                return None
            editor.column("health.patients", "name")[key] = name
        elif kind == "link_name_typo":
            editor.column("health.patients", "name")[key] = one_char_diff(pop.name[person], rng, name_pool)
        elif kind == "link_dob_swap":
            d = pop.birth_date[person].astype(object)
            editor.column("health.patients", "birth_date")[key] = d.replace(month=d.day, day=d.month)
        return {"id": "missing"}
    if kind == "link_id_swapped":
        editor.column("telecom.subscribers", "id_number")[key] = id_swapped(pop.id_number[person], rng)
    elif kind == "link_id_typo":
        editor.column("telecom.subscribers", "id_number")[key] = id_typo(pop.id_number[person], taken, rng)
    elif kind == "link_legacy_id":
        editor.column("telecom.subscribers", "id_number")[key] = legacy_15(pop.id_number[person])
    elif kind == "link_phone_digit":
        editor.column("housing.rentals", "tenant_phone")[key] = phone_digit(phone_of[key], rng)
    return {}


def _variants(world: World, editor: _Editor, truth: dict, taken: set[str], name_pool: str) -> None:
    """Make a share of the planted discrepancies unreachable by an exact ID join."""
    pop, rng = world.pop, world.rng
    anomalies = world.manifest.anomalies
    dead_patients = sorted(
        {
            r["key"]
            for a in anomalies
            if a["kind"] in ("dead_but_registered", "dead_but_active_phone")
            for r in a["records"]
            if r["dataset"] == "health.patients"
        }
    )
    draw = rng.random(len(dead_patients))

    def name_of(key: str) -> str:
        return pop.name[int(truth["health.patients"][key])]

    changed: dict[tuple[str, str], str] = {}
    for key, u in zip(dead_patients, draw):
        if u < VARIANT_SHARE["missing_id"]:
            changed[("health.patients", key)] = "missing_id"
        elif u < VARIANT_SHARE["missing_id"] + VARIANT_SHARE["one_char"] and len(name_of(key)) >= 3:
            changed[("health.patients", key)] = "one_char"
            person = int(truth["health.patients"][key])
            editor.column("health.patients", "name")[key] = one_char_diff(pop.name[person], rng, name_pool)
        if ("health.patients", key) in changed:
            editor.column("health.patients", "id_number")[key] = None
    for a in anomalies:
        if a["kind"] == "unknown_to_civil" and rng.random() < VARIANT_SHARE["missing_id"]:
            key = a["records"][0]["key"]
            changed[("health.patients", key)] = "missing_id"
            editor.column("health.patients", "id_number")[key] = None
        elif a["kind"] == "duplicate_household_registration" and rng.random() < VARIANT_SHARE["one_char"]:
            twin = a["records"][1]["key"]
            changed[("civil.residents", twin)] = "one_char"
            person = int(truth["civil.residents"][twin])
            editor.column("civil.residents", "id_number")[twin] = id_typo(pop.id_number[person], taken, rng)
    for a in anomalies:
        variants = {changed[(r["dataset"], r["key"])] for r in a["records"] if (r["dataset"], r["key"]) in changed}
        if variants:
            a.setdefault("detail", {})["variant"] = sorted(variants)[-1]


def _namesakes(world: World, editor: _Editor, truth: dict, resident_of: dict[int, str]) -> None:
    """Pairs of different men born in one year, both renamed 王伟 in every record: a negative pair."""
    pop, rng = world.pop, world.rng
    free = np.flatnonzero(~world.used & ~world.floating & np.isnat(pop.died_on) & (pop.sex == 1))
    free = free[[p in resident_of for p in free.tolist()]]
    years = pop.birth_date[free].astype("datetime64[Y]")
    chosen: list[tuple[int, int]] = []
    want = max(1, round(pop.size * NAMESAKE_PAIRS))
    for year in rng.permutation(np.unique(years)):
        same = free[years == year]
        if len(same) >= 2 and len(chosen) < want:
            a, b = rng.choice(same, size=2, replace=False)
            chosen.append((int(a), int(b)))
    records = {d: {} for d in NAME_COLUMN}
    for dataset, owners in truth.items():
        if dataset in NAME_COLUMN:
            for key, person in owners.items():
                records[dataset].setdefault(int(person), []).append(key)
    for a, b in chosen:
        world.used[[a, b]] = True
        for person in (a, b):
            pop.name[person] = NAMESAKE
            for dataset, column in NAME_COLUMN.items():
                for key in records[dataset].get(person, []):
                    editor.column(dataset, column)[key] = NAMESAKE
        world.manifest.add("namesakes", [("civil.residents", resident_of[a]), ("civil.residents", resident_of[b])])

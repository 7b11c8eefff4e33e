"""Housing (住建): property registrations and rental filings.

Rentals reach housing two ways: the department's own database (``housing.rentals``), and the filings
that some sub-district offices collect in spreadsheets (``housing.rental_filings``), dropped as GBK CSV
or XLSX files. Planted: tenants renting where they are not registered, legacy 15-digit owner IDs,
wrong check characters, names one character off, bad phones, full-width digits, four date formats.
"""

from __future__ import annotations

import numpy as np

from sandbox.departments.world import (
    FULLWIDTH,
    World,
    bad_phone,
    break_check_char,
    keys,
    legacy_15,
    one_char_diff,
    styled_phone,
)

RENTED_SHARE = 0.25  # of households, living in a home they rent
VACANT_RENTED_SHARE = 0.15  # of addresses nobody is registered at, rented out anyway
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%-m/%-d", "%Y年%-m月%-d日")


def build(world: World, name_pool: str) -> None:
    pop, rng = world.pop, world.rng
    adults = np.flatnonzero((pop.birth_date < np.datetime64("2006-01-01")) & np.isnat(pop.died_on) & ~world.floating)
    homes = pop.household_address
    occupied = np.zeros(len(pop.address_code), bool)
    occupied[homes] = True
    head = pop.household_head
    rentable = np.isnat(pop.died_on[head]) & ~world.floating[head] & ~world.used[head]
    rents = np.flatnonzero(rentable & (rng.random(len(head)) < RENTED_SHARE))
    vacant = np.flatnonzero(~occupied)
    let = np.sort(rng.choice(vacant, size=int(len(vacant) * VACANT_RENTED_SHARE), replace=False))
    stray = world.pick(adults, len(let) / len(adults))[: len(let)]
    let = let[: len(stray)]

    owner = np.where(rng.random(len(pop.address_code)) < 0.85, rng.choice(adults, len(pop.address_code)), -1)
    owner[homes] = head
    owner[homes[rents]] = rng.choice(adults, len(rents))
    _properties(world, owner)

    address = np.concatenate([homes[rents], let])
    tenant = np.concatenate([head[rents], stray])
    unregistered = np.concatenate([np.zeros(len(rents), bool), np.ones(len(stray), bool)])
    order = np.argsort(address)
    address, tenant, unregistered = address[order], tenant[order], unregistered[order]
    by_file = np.isin(pop.address_subdistrict[address], _file_subdistricts(pop))
    _rentals(world, address[~by_file], tenant[~by_file], owner, unregistered[~by_file], name_pool)
    _filings(world, address[by_file], tenant[by_file], owner, unregistered[by_file])


def _file_subdistricts(pop) -> list[str]:
    """Every third sub-district office files rentals by spreadsheet instead of the housing system."""
    return sorted(set(pop.address_subdistrict.tolist()))[::3]


def _landlord(world: World, owner: np.ndarray, address: np.ndarray):
    pop = world.pop
    who = owner[address]
    unit = world.rng.integers(0, len(pop.unit_code), len(address))
    is_unit = who < 0
    return (
        np.where(is_unit, "单位", "个人").astype(object),
        np.where(is_unit, pop.unit_code[unit], pop.id_number[who]),
        np.where(is_unit, pop.unit_name[unit], pop.name[who]),
    )


def _phone_of(world: World, person: np.ndarray) -> np.ndarray:
    pop = world.pop
    first = {}
    for number, who in zip(pop.phone_number.tolist(), pop.phone_owner.tolist()):
        first.setdefault(who, number)
    return np.array([first.get(int(p), "") for p in person], dtype=object)


def _properties(world: World, owner: np.ndarray) -> None:
    pop, rng = world.pop, world.rng
    n = len(owner)
    kind, owner_id, owner_name = _landlord(world, owner, np.arange(n))
    key = keys("F", n, width=8)
    world.owned("housing.properties", key[owner >= 0], owner[owner >= 0])
    personal = np.flatnonzero((owner >= 0) & (pop.birth_date[np.maximum(owner, 0)] < np.datetime64("1980-01-01")))
    for row in world.pick(personal, 0.01, owner[personal]):
        owner_id[row] = legacy_15(owner_id[row])
        world.manifest.add("legacy_15_digit_id", [("housing.properties", key[row])])
    registered = np.datetime64("2000-01-01") + rng.integers(0, 9000, n).astype("timedelta64[D]")
    world.table(
        "housing.properties",
        {
            "property_id": key,
            "certificate_no": np.array(
                [f"川({d.astype(object).year})攀枝花市不动产权第{i:07d}号" for i, d in enumerate(registered)],
                dtype=object,
            ),
            "owner_type": kind,
            "owner_id": owner_id,
            "owner_name": owner_name,
            "address_code": pop.address_code,
            "address": pop.address_text,
            "area_m2": np.round(rng.uniform(30, 180, n), 2),
            "registered_on": registered,
            "updated_at": world.updated_at(n, after=registered),
        },
    )


def _tenancy(world: World, address, tenant, owner, unregistered, dataset: str, key: np.ndarray, name_pool: str):
    """Columns shared by database rentals and spreadsheet filings, with the tenant-side anomalies planted."""
    pop, rng, manifest = world.pop, world.rng, world.manifest
    n = len(address)
    kind, landlord_id, landlord_name = _landlord(world, owner, address)
    start = np.datetime64("2022-01-01") + rng.integers(0, 1700, n).astype("timedelta64[D]")
    ids, names, phones = pop.id_number[tenant].copy(), pop.name[tenant].copy(), _phone_of(world, tenant)
    for row in np.flatnonzero(unregistered):
        manifest.add("tenant_not_registered", [(dataset, key[row])], address_code=pop.address_code[address[row]])
    clean = np.flatnonzero(~unregistered)
    for row in world.pick(clean, 0.005, tenant[clean]):
        ids[row] = break_check_char(ids[row])
        manifest.add("invalid_id_check", [(dataset, key[row])])
    for row in world.pick(clean, 0.005, tenant[clean]):
        phones[row] = bad_phone(phones[row] or "13800000000", rng)
        manifest.add("invalid_phone", [(dataset, key[row])])
    if name_pool:
        for row in world.pick(clean, 0.005, tenant[clean]):
            names[row] = one_char_diff(names[row], rng, name_pool)
            manifest.add("name_one_char_diff", [(dataset, key[row])], civil_name=pop.name[tenant[row]])
    for row in np.flatnonzero((rng.random(n) < 0.1) & np.array([len(p) == 11 for p in phones])):
        phones[row] = styled_phone(phones[row], int(rng.integers(0, 4)))
    return {
        "landlord_type": kind,
        "landlord_id": landlord_id,
        "landlord_name": landlord_name,
        "tenant_id_number": ids,
        "tenant_name": names,
        "tenant_phone": phones,
        "address_code": pop.address_code[address],
        "address": pop.address_text[address],
        "start_date": start,
        "end_date": start + np.timedelta64(365, "D") * rng.integers(1, 4, n),
    }


def _rentals(world: World, address, tenant, owner, unregistered, name_pool: str) -> None:
    key = keys("Z", len(address), width=8)
    world.owned("housing.rentals", key, tenant)
    columns = {"rental_id": key} | _tenancy(
        world, address, tenant, owner, unregistered, "housing.rentals", key, name_pool
    )
    world.table("housing.rentals", columns | {"updated_at": world.updated_at(len(key), after=columns["start_date"])})
    # Wave 1: renewals extend the end date.
    renew = np.flatnonzero(world.rng.random(len(key)) < 0.02)
    world.table(
        "housing.rentals",
        {k: v[renew] for k, v in columns.items()}
        | {"end_date": columns["end_date"][renew] + np.timedelta64(365, "D"), "updated_at": world.wave1_at(len(renew))},
        wave=1,
    )


def _filings(world: World, address, tenant, owner, unregistered) -> None:
    """Spreadsheet filings: every value is text, dates in four formats, some digits full-width."""
    pop, rng, manifest = world.pop, world.rng, world.manifest
    n = len(address)
    key = keys("BA", n, width=8)
    world.owned("housing.rental_filings", key, tenant)
    columns = _tenancy(world, address, tenant, owner, unregistered, "housing.rental_filings", key, "")
    wave = (rng.random(n) < 0.05).astype(np.int8)  # filed after the first drop
    fmt = rng.integers(0, len(DATE_FORMATS), n)
    for f in range(len(DATE_FORMATS)):
        manifest.count(f"date_format_{f}", int((fmt == f).sum()) * 2)
    text = {
        name: np.array([d.astype(object).strftime(DATE_FORMATS[f]) for d, f in zip(columns[name], fmt)], dtype=object)
        for name in ("start_date", "end_date")
    }
    ids, phones = columns["tenant_id_number"], columns["tenant_phone"]
    clean = np.flatnonzero(~unregistered & ~world.used[tenant])
    for row in world.pick(clean, 0.01, tenant[clean]):
        ids[row], phones[row] = ids[row].translate(FULLWIDTH), phones[row].translate(FULLWIDTH)
        manifest.add("fullwidth_digits", [("housing.rental_filings", key[row])])
    filed = world.updated_at(n, after=columns["start_date"])
    filed[wave == 1] = world.wave1_at(int(wave.sum()))
    rows = {"filing_no": key, "subdistrict": pop.address_subdistrict[address]} | columns | text | {"filed_at": filed}
    for w in (0, 1):
        world.table("housing.rental_filings", {k: v[wave == w] for k, v in rows.items()}, wave=w)

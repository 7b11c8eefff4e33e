"""Civil affairs (民政/户籍): residents, households, marriages and death registrations.

Served as a relational database. Planted here: deaths health knows of but civil affairs never
registered, duplicate registrations, 15-digit legacy IDs, birth dates that disagree with the ID, and
death registrations that arrive late (wave 1), a third with an ``updated_at`` older than rows already sent.
"""

from __future__ import annotations

import numpy as np

from sandbox.departments.world import World, keys, legacy_15, take

UNREGISTERED_DEATH_SHARE = 0.2
LATE_DEATH_SHARE = 0.1  # of deaths: registered only in wave 1


def build(world: World) -> None:
    pop, rng, manifest = world.pop, world.rng, world.manifest
    person = np.flatnonzero(~world.floating)
    n = len(person)
    resident_id = keys("R", n)
    address = pop.household_address[pop.household[person]]
    registered = np.maximum(pop.birth_date[person], np.datetime64("1990-01-01")) + rng.integers(0, 400, n).astype(
        "timedelta64[D]"
    )
    columns = {
        "resident_id": resident_id,
        "id_number": pop.id_number[person].copy(),
        "name": pop.name[person],
        "sex": np.where(pop.sex[person] == 1, "男", "女").astype(object),
        "ethnicity": pop.ethnicity[person],
        "birth_date": pop.birth_date[person].copy(),
        "household_id": np.array([f"H{h:08d}" for h in pop.household[person]], dtype=object),
        "address_code": pop.address_code[address],
        "address": pop.address_text[address],
        "status": np.full(n, "正常", dtype=object),
        "registered_on": registered,
        "updated_at": world.updated_at(n, after=registered),
    }

    alive = np.flatnonzero(np.isnat(pop.died_on[person]))
    old = alive[pop.birth_date[person[alive]] < np.datetime64("1980-01-01")]
    for row in world.pick(old, 0.01, person[old]):
        columns["id_number"][row] = legacy_15(columns["id_number"][row])
        manifest.add("legacy_15_digit_id", [("civil.residents", resident_id[row])])
    for row in world.pick(alive, 0.004, person[alive]):
        shift = int(rng.choice([-1, 1]) * rng.integers(1, 400))
        columns["birth_date"][row] = columns["birth_date"][row] + np.timedelta64(shift, "D")
        manifest.add("birth_date_mismatch", [("civil.residents", resident_id[row])])

    dead = np.flatnonzero(~np.isnat(pop.died_on[person]))
    world.used[person[dead]] = True
    fate = rng.random(len(dead))
    never = dead[fate < UNREGISTERED_DEATH_SHARE]
    later = dead[(fate >= UNREGISTERED_DEATH_SHARE) & (fate < UNREGISTERED_DEATH_SHARE + LATE_DEATH_SHARE)]
    now = dead[fate >= UNREGISTERED_DEATH_SHARE + LATE_DEATH_SHARE]
    for row in never:
        manifest.add(
            "dead_but_registered",
            [("civil.residents", resident_id[row]), ("health.patients", world.patient_of[int(person[row])])],
        )
    death_registered = pop.died_on[person] + rng.integers(1, 30, n).astype("timedelta64[D]")
    columns["status"][now] = "注销"
    columns["updated_at"][now] = world.updated_at(len(now), after=death_registered[now])
    world.table("civil.residents", columns)
    world.owned("civil.residents", resident_id, person)

    # Duplicate registrations: a second, active row in another household.
    twins = world.pick(alive, 0.003, person[alive])
    other = rng.integers(0, n, len(twins))
    twin_ids = keys("R", len(twins), start=n)
    world.table(
        "civil.residents",
        take(columns, twins)
        | {
            "resident_id": twin_ids,
            "household_id": columns["household_id"][other],
            "address_code": columns["address_code"][other],
            "address": columns["address"][other],
            "updated_at": world.updated_at(len(twins)),
        },
    )
    world.owned("civil.residents", twin_ids, person[twins])
    for row, twin in zip(twins, twin_ids):
        manifest.add(
            "duplicate_household_registration", [("civil.residents", resident_id[row]), ("civil.residents", twin)]
        )

    # Wave 1: deaths registered late; a third with an updated_at older than rows already served.
    late = rng.random(len(later)) < 1 / 3
    stamp = np.where(late, world.late_at(len(later)), world.wave1_at(len(later)))
    world.table(
        "civil.residents",
        take(columns, later) | {"status": np.full(len(later), "注销", dtype=object), "updated_at": stamp},
        wave=1,
    )
    for row in later[late]:
        manifest.add("late_arriving_update", [("civil.residents", resident_id[row])])
    for wave, rows, updated in ((0, now, columns["updated_at"][now]), (1, later, stamp)):
        death_id = keys("D", len(rows), start=0 if wave == 0 else len(now), width=8)
        world.owned("civil.deaths", death_id, person[rows])
        world.table(
            "civil.deaths",
            {
                "death_id": death_id,
                "id_number": pop.id_number[person[rows]],
                "name": pop.name[person[rows]],
                "death_date": pop.died_on[person[rows]],
                "registered_on": death_registered[rows],
                "updated_at": updated,
            },
            wave=wave,
        )
    _households(world, person, resident_id)
    _marriages(world)


def _households(world: World, person: np.ndarray, resident_id: np.ndarray) -> None:
    pop = world.pop
    registered = np.unique(pop.household[person])
    head = pop.household_head[registered]
    row_of = np.full(pop.size, -1)
    row_of[person] = np.arange(len(person))
    address = pop.household_address[registered]
    world.table(
        "civil.households",
        {
            "household_id": np.array([f"H{h:08d}" for h in registered], dtype=object),
            "head_resident_id": resident_id[row_of[head]],
            "head_id_number": pop.id_number[head],
            "address_code": pop.address_code[address],
            "address": pop.address_text[address],
            "household_type": np.full(len(registered), "家庭户", dtype=object),
            "member_count": np.bincount(pop.household[person], minlength=len(pop.household_head))[registered].astype(
                np.int32
            ),
            "updated_at": world.updated_at(len(registered)),
        },
    )


def _marriages(world: World) -> None:
    """The first two members of a household, adults of opposite sex, are a married couple."""
    pop, rng = world.pop, world.rng
    head = pop.household_head
    second = np.minimum(head + 1, pop.size - 1)
    adult = np.datetime64("2006-01-01")
    pair = (pop.household[second] == np.arange(len(head))) & (pop.sex[head] != pop.sex[second])
    pair &= (pop.birth_date[head] < adult) & (pop.birth_date[second] < adult) & ~world.floating[head]
    husband = np.where(pop.sex[head] == 1, head, second)[pair]
    wife = np.where(pop.sex[head] == 1, second, head)[pair]
    n = len(husband)
    on = np.maximum(pop.birth_date[husband], pop.birth_date[wife]) + np.timedelta64(22 * 365, "D")
    on = np.minimum(on + rng.integers(0, 3000, n).astype("timedelta64[D]"), np.datetime64("2026-06-30"))
    world.table(
        "civil.marriages",
        {
            "marriage_id": keys("M", n, width=8),
            "husband_id_number": pop.id_number[husband],
            "husband_name": pop.name[husband],
            "wife_id_number": pop.id_number[wife],
            "wife_name": pop.name[wife],
            "registered_on": on,
            "status": np.where(rng.random(n) < 0.05, "离婚", "结婚").astype(object),
            "updated_at": world.updated_at(n, after=on),
        },
    )

"""Telecom operators (运营商): real-name subscriber registrations, served as a REST/JSON API.

Planted here: numbers of people who died that are still active, ID numbers with a wrong check
character, names one character off the civil registration, numbers written with +86, spaces or
dashes, and cancellations that arrive in wave 1, some with an ``updated_at`` older than rows served.
"""

from __future__ import annotations

import numpy as np

from sandbox.departments.world import World, break_check_char, keys, one_char_diff, styled_phone, take

DEAD_STILL_ACTIVE_SHARE = 0.3


def build(world: World, name_pool: str) -> None:
    pop, rng, manifest = world.pop, world.rng, world.manifest
    n = len(pop.phone_number)
    owner = pop.phone_owner
    key = keys("S", n)
    world.owned("telecom.subscribers", key, owner)
    cancelled = pop.phone_cancelled.copy()
    columns = {
        "subscriber_id": key,
        "msisdn": pop.phone_number.copy(),
        "id_number": pop.id_number[owner].copy(),
        "name": pop.name[owner].copy(),
        "carrier": pop.phone_carrier,
        "activated_at": pop.phone_activated,
        "cancelled_at": cancelled,
        "status": np.where(np.isnat(cancelled), "active", "cancelled").astype(object),
    }
    columns["updated_at"] = world.updated_at(n, after=np.where(np.isnat(cancelled), pop.phone_activated, cancelled))

    dead_owner = ~np.isnat(pop.died_on[owner]) & np.isnat(cancelled)
    wave1_rows: list[int] = []
    for person in np.unique(owner[dead_owner]):
        rows = np.flatnonzero(dead_owner & (owner == person))
        draw = rng.random()
        if draw < DEAD_STILL_ACTIVE_SHARE:
            manifest.add(
                "dead_but_active_phone",
                [("telecom.subscribers", key[r]) for r in rows] + [("health.patients", world.patient_of[int(person)])],
            )
        elif draw < DEAD_STILL_ACTIVE_SHARE + 0.07:
            wave1_rows.extend(rows.tolist())  # the operator learns of the death later
        else:
            at = pop.died_on[person].astype("datetime64[s]") + np.timedelta64(int(rng.integers(1, 25)), "D")
            columns["cancelled_at"][rows] = at
            columns["status"][rows] = "cancelled"
            columns["updated_at"][rows] = at + np.timedelta64(3600, "s")

    everyone = np.arange(n)
    for row in world.pick(everyone, 0.003, owner):
        columns["id_number"][row] = break_check_char(columns["id_number"][row])
        manifest.add("invalid_id_check", [("telecom.subscribers", key[row])])
    for row in world.pick(everyone, 0.005, owner):
        columns["name"][row] = one_char_diff(columns["name"][row], rng, name_pool)
        manifest.add("name_one_char_diff", [("telecom.subscribers", key[row])], civil_name=pop.name[owner[row]])
    styled = np.flatnonzero(rng.random(n) < 0.05)
    style = rng.integers(0, 4, len(styled))
    for row, s in zip(styled, style):
        columns["msisdn"][row] = styled_phone(columns["msisdn"][row], int(s))
    for s in range(4):
        manifest.count(f"phone_style_{s}", int((style == s).sum()))
    world.table("telecom.subscribers", columns)

    # Wave 1: cancellations, some reported late (updated_at older than rows already served).
    active = np.flatnonzero(np.isnat(columns["cancelled_at"]) & (columns["updated_at"] < np.datetime64("2026-09-01")))
    cancel = np.concatenate([np.array(wave1_rows, dtype=np.int64), world.pick(active, 0.012, owner[active])])
    late = np.zeros(len(cancel), bool)
    late[len(wave1_rows) :] = rng.random(len(cancel) - len(wave1_rows)) < 0.2
    stamp = np.where(late, world.late_at(len(cancel)), world.wave1_at(len(cancel)))
    world.table(
        "telecom.subscribers",
        take(columns, cancel)
        | {
            "cancelled_at": stamp - np.timedelta64(60, "s"),
            "status": np.full(len(cancel), "cancelled", dtype=object),
            "updated_at": stamp,
        },
        wave=1,
    )
    for row in cancel[late]:
        manifest.add("late_arriving_update", [("telecom.subscribers", key[row])])

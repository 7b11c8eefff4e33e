"""Health (卫健): patients, encounters and immunizations, served as HL7 FHIR R4 by the sandbox.

Every person who died is a patient with ``deceasedDateTime``: health is where deaths are known first.
Some patients are floating population that civil affairs has never registered (``unknown_to_civil``).
"""

from __future__ import annotations

import numpy as np

from sandbox.departments.world import World, keys

PATIENT_SHARE = 0.55
ENCOUNTER_CLASSES = (("AMB", "门诊"), ("IMP", "住院"), ("EMER", "急诊"))
VACCINES = (("208", "新冠病毒疫苗"), ("141", "流感疫苗"), ("43", "乙肝疫苗"), ("03", "麻腮风疫苗"))


def build(world: World) -> None:
    pop, rng = world.pop, world.rng
    dead = ~np.isnat(pop.died_on)
    person = np.flatnonzero((rng.random(pop.size) < PATIENT_SHARE) | dead | world.floating)
    patient_id = keys("P", len(person), width=8)
    world.patient_of.update(zip(person.tolist(), patient_id.tolist()))
    world.owned("health.patients", patient_id, person)
    for p in np.flatnonzero(world.floating):
        world.manifest.add("unknown_to_civil", [("health.patients", world.patient_of[int(p)])])
    died = pop.died_on[person].astype("datetime64[s]") + rng.integers(0, 86400, len(person)).astype("timedelta64[s]")
    world.table(
        "health.patients",
        {
            "patient_id": patient_id,
            "id_number": pop.id_number[person],
            "name": pop.name[person],
            "gender": np.where(pop.sex[person] == 1, "male", "female").astype(object),
            "birth_date": pop.birth_date[person],
            "deceased_at": died,
            "last_updated": world.updated_at(len(person), after=died),
        },
    )

    visits = rng.poisson(1.5, len(person))
    owner = np.repeat(np.arange(len(person)), visits)
    n = len(owner)
    start = world.updated_at(n) - rng.integers(0, 200 * 86400, n).astype("timedelta64[s]")
    owner_died = died[owner]
    start = np.where(~np.isnat(owner_died) & (start > owner_died), owner_died - np.timedelta64(3, "D"), start)
    kind = rng.choice(len(ENCOUNTER_CLASSES), size=n, p=(0.8, 0.15, 0.05))
    stay = np.where(kind == 1, rng.integers(1, 15, n) * 86400, rng.integers(1800, 6 * 3600, n))
    encounter = {
        "encounter_id": keys("E", n),
        "patient_id": patient_id[owner],
        "class_code": np.array([ENCOUNTER_CLASSES[k][0] for k in kind], dtype=object),
        "type_text": np.array([ENCOUNTER_CLASSES[k][1] for k in kind], dtype=object),
        "status": np.full(n, "finished", dtype=object),
        "period_start": start,
        "period_end": start + stay.astype("timedelta64[s]"),
    }
    world.table("health.encounters", encounter | {"last_updated": world.updated_at(n, after=start)})

    doses = np.where(rng.random(len(person)) < 0.5, rng.integers(1, 4, len(person)), 0)
    owner = np.repeat(np.arange(len(person)), doses)
    n = len(owner)
    vaccine = rng.integers(0, len(VACCINES), n)
    given = world.updated_at(n) - rng.integers(0, 400 * 86400, n).astype("timedelta64[s]")
    world.table(
        "health.immunizations",
        {
            "immunization_id": keys("I", n),
            "patient_id": patient_id[owner],
            "vaccine_code": np.array([VACCINES[v][0] for v in vaccine], dtype=object),
            "vaccine_display": np.array([VACCINES[v][1] for v in vaccine], dtype=object),
            "status": np.full(n, "completed", dtype=object),
            "occurrence": given,
            "last_updated": world.updated_at(n, after=given),
        },
    )

    # Wave 1: new visits of patients who are alive.
    alive = np.flatnonzero(np.isnat(died))
    again = np.sort(rng.choice(alive, size=max(1, len(alive) // 100), replace=False))
    n = len(again)
    at = world.wave1_at(n)
    start = at - np.timedelta64(2, "h")
    world.table(
        "health.encounters",
        {
            "encounter_id": keys("E", n, start=len(encounter["encounter_id"])),
            "patient_id": patient_id[again],
            "class_code": np.full(n, "AMB", dtype=object),
            "type_text": np.full(n, "门诊", dtype=object),
            "status": np.full(n, "finished", dtype=object),
            "period_start": start,
            "period_end": start + np.timedelta64(1, "h"),
            "last_updated": at,
        },
        wave=1,
    )

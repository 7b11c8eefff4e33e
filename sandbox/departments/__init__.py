"""Department datasets built from the population, with the imperfections real data has.

Each dataset is an Arrow table whose rows are versions: ``_wave`` 0 is what the department holds when
the sandbox starts; ``_wave`` 1 rows are later versions of the same records (updates, some arriving
late), applied by ``xgate sandbox advance``. The manifest describes the state after every wave.

Besides the departments built here in order, any module of this package that declares
``PRIMARY_KEYS`` (dataset -> key) and ``build(world, seed)`` is a department too, built afterwards:
adding a department is adding its module.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pyarrow as pa
from faker.providers.person.zh_CN import Provider as PersonProvider

from sandbox.departments import civil, health, housing, linkage, telecom
from sandbox.departments.world import World
from sandbox.manifest import Manifest
from sandbox.population import Population

FLOATING_SHARE = 0.005  # people unknown to civil affairs (health knows them)

DATASETS = (
    "civil.residents",
    "civil.households",
    "civil.marriages",
    "civil.deaths",
    "housing.properties",
    "housing.rentals",
    "housing.rental_filings",
    "telecom.subscribers",
    "health.patients",
    "health.encounters",
    "health.immunizations",
)
PRIMARY_KEYS = {
    "civil.residents": "resident_id",
    "civil.households": "household_id",
    "civil.marriages": "marriage_id",
    "civil.deaths": "death_id",
    "housing.properties": "property_id",
    "housing.rentals": "rental_id",
    "housing.rental_filings": "filing_no",
    "telecom.subscribers": "subscriber_id",
    "health.patients": "patient_id",
    "health.encounters": "encounter_id",
    "health.immunizations": "immunization_id",
}
ADDED = [
    module
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if hasattr(module := importlib.import_module(f"{__name__}.{info.name}"), "PRIMARY_KEYS")
]
for _module in ADDED:
    PRIMARY_KEYS |= _module.PRIMARY_KEYS
DATASETS = (*DATASETS, *(d for m in ADDED for d in m.PRIMARY_KEYS))


def build_departments(pop: Population, seed: int) -> tuple[dict[str, pa.Table], Manifest]:
    rng = np.random.default_rng([seed, 1])
    manifest = Manifest(seed=seed, people=pop.size)
    sizes = np.bincount(pop.household)
    alone = np.flatnonzero((sizes[pop.household] == 1) & np.isnat(pop.died_on))
    floating = np.zeros(pop.size, bool)
    floating[rng.choice(alone, size=min(len(alone), round(pop.size * FLOATING_SHARE)), replace=False)] = True
    world = World(pop=pop, rng=rng, manifest=manifest, used=floating.copy(), floating=floating)
    name_pool = "".join(
        sorted({c for n in (*PersonProvider.first_names_male, *PersonProvider.first_names_female) for c in n})
    )
    health.build(world)
    civil.build(world)
    housing.build(world, name_pool)
    telecom.build(world, name_pool)
    for module in ADDED:
        module.build(world, seed)
    linkage.plant(world, name_pool)
    manifest.truth = pa.table(
        {
            "dataset": [d for d, parts in world.truth.items() for keys, _ in parts for _ in keys],
            "key": np.concatenate([keys for parts in world.truth.values() for keys, _ in parts]).tolist(),
            "person": np.concatenate([p for parts in world.truth.values() for _, p in parts]).astype(np.int64),
        }
    )
    return {name: world.tables[name] for name in DATASETS}, manifest

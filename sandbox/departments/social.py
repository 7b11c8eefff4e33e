"""Human resources and social security (人社): who is insured, and the pensions paid.

Two systems, served as REST APIs the way provincial platforms are: the insured register (参保登记) with
nested records (person, insurance, employer) and naive local times; and pension payments (养老金发放),
one row per living retiree and month. Wave 1 brings stopped insurance and the next month's payments.
It is built after every department the core list names (see ``sandbox.departments``), with draws of its
own, so adding it changes nothing the others generate.
"""

from __future__ import annotations

import numpy as np

from sandbox.departments.world import World, keys
from sandbox.population import REFERENCE_DAY

PRIMARY_KEYS = {"social.insured": "insured_id", "social.pensions": "payment_id"}
SCHEMES = ("城镇职工基本养老保险", "城乡居民基本养老保险")
PAID_MONTHS = (np.datetime64("2026-07", "M"), np.datetime64("2026-08", "M"), np.datetime64("2026-09", "M"))


def build(world: World, seed: int) -> None:
    pop = world.pop
    rng = np.random.default_rng([seed, 15])
    age = (REFERENCE_DAY - pop.birth_date).astype("timedelta64[D]").astype(np.int64) // 365
    dead = ~np.isnat(pop.died_on)
    person = np.flatnonzero((age >= 18) & (rng.random(pop.size) < 0.75))
    employed = rng.random(len(person)) < 0.6
    employer = rng.integers(0, len(pop.unit_code), len(person))
    since = pop.birth_date[person] + np.timedelta64(18 * 365, "D") + rng.integers(0, 3650, len(person))
    insured = keys("SI", len(person))
    columns = {
        "insured_id": insured,
        "id_number": pop.id_number[person],
        "name": pop.name[person],
        "sex": np.where(pop.sex[person] == 1, "男", "女").astype(object),
        "scheme": np.where(employed, SCHEMES[0], SCHEMES[1]).astype(object),
        "status": np.where(dead[person], "终止参保", "参保缴费").astype(object),
        "since": np.minimum(since, REFERENCE_DAY - 1),
        "employer_code": np.where(employed, pop.unit_code[employer], None).astype(object),
        "employer_name": np.where(employed, pop.unit_name[employer], None).astype(object),
        "updated_at": world.updated_at(len(person), after=pop.died_on[person]),
    }
    world.table("social.insured", columns)
    stopped = np.flatnonzero(~dead[person] & (rng.random(len(person)) < 0.02))
    changed = {name: values[stopped] for name, values in columns.items()}
    world.table("social.insured", changed | {"status": np.full(len(stopped), "暂停缴费", dtype=object),
                                             "updated_at": world.wave1_at(len(stopped))}, wave=1)  # fmt: skip

    retired = person[(age[person] >= 60) & ~dead[person]]
    for wave, months in ((0, PAID_MONTHS), (1, (PAID_MONTHS[-1] + 1,))):
        n = len(retired) * len(months)
        month = np.repeat(np.array(months), len(retired))
        paid = month.astype("datetime64[D]") + np.timedelta64(14, "D") + np.timedelta64(9, "h")
        start = 0 if wave == 0 else len(retired) * len(PAID_MONTHS)
        world.table(
            "social.pensions",
            {
                "payment_id": keys("PP", n, start=start),
                "id_number": np.tile(pop.id_number[retired], len(months)),
                "name": np.tile(pop.name[retired], len(months)),
                "month": np.datetime_as_string(month, unit="M").astype(object),
                "amount": np.round(np.tile(rng.uniform(1800, 6200, len(retired)), len(months)), 2),
                "paid_at": paid.astype("datetime64[s]"),
                "updated_at": paid.astype("datetime64[s]") + np.timedelta64(1, "h"),
            },
            wave=wave,
        )

"""Sandbox generation: a million people in under two minutes, against a plain Faker loop."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from faker import Faker

from benchmarks.report import Result
from sandbox import store
from sandbox.settings import SandboxSettings

PEOPLE = 1_000_000
BASELINE_PEOPLE = 20_000


def _faker_loop(people: int) -> float:
    """What one would write with Faker alone: one person record per loop, no departments, no anomalies."""
    fake = Faker("zh_CN")
    fake.seed_instance(1)
    start = time.perf_counter()
    rows = [(fake.name(), fake.ssn(), fake.address(), fake.phone_number()) for _ in range(people)]
    assert len(rows) == people
    return people / (time.perf_counter() - start)


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = SandboxSettings(data_dir=Path(tmp))
        start = time.perf_counter()
        store.generate(settings, PEOPLE, seed=42)
        seconds = time.perf_counter() - start
    return [
        Result(
            "sandbox",
            f"generate {PEOPLE:,} people, 11 datasets, manifest, drops",
            PEOPLE / seconds,
            "Faker loop (4 fields/person)",
            _faker_loop(BASELINE_PEOPLE),
            f"{seconds:.0f} s for 1M (target < 120 s)",
        )
    ]

"""Shared state and helpers the department builders use to plant imperfections.

Anomalies are kept disjoint: a person who carries one planted anomaly is not picked for another, so
the manifest's records each have exactly one cause and scores against it are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sandbox.manifest import Manifest
from sandbox.population import REFERENCE_TIME, Population

WAVE0_FROM = np.datetime64("2021-01-01T00:00:00", "s")
WAVE0_UNTIL = np.datetime64(REFERENCE_TIME.isoformat(), "s") - np.timedelta64(1, "D")
WAVE1_UNTIL = np.datetime64(REFERENCE_TIME.isoformat(), "s") + np.timedelta64(12, "h")
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@dataclass
class World:
    pop: Population
    rng: np.random.Generator
    manifest: Manifest
    used: np.ndarray  # person already carries an anomaly
    floating: np.ndarray  # person unknown to civil affairs (not registered in the prefecture)
    patient_of: dict[int, str] = field(default_factory=dict)  # person -> health.patients key
    tables: dict[str, pa.Table] = field(default_factory=dict)
    truth: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)  # dataset -> (keys, persons)

    def owned(self, dataset: str, record_keys: np.ndarray, persons: np.ndarray) -> None:
        """Record which true person each person-bearing record belongs to (the linkage ground truth)."""
        self.truth.setdefault(dataset, []).append((np.asarray(record_keys, dtype=object), np.asarray(persons)))

    def pick(self, rows: np.ndarray, share: float, owners: np.ndarray | None = None) -> np.ndarray:
        """Choose ``share`` of ``rows`` among those whose persons carry nothing yet; mark those persons.

        ``owners`` gives each row's person (aligned with ``rows``); rows are persons when omitted.
        """
        owners = rows if owners is None else owners
        free = np.flatnonzero(~self.used[owners])
        count = min(len(free), round(len(rows) * share))
        chosen = np.sort(self.rng.choice(free, size=count, replace=False))
        self.used[owners[chosen]] = True
        return rows[chosen]

    def updated_at(self, n: int, after: np.ndarray | None = None) -> np.ndarray:
        """Wave-0 modification times: after ``after`` (an event time) when given, never past WAVE0_UNTIL."""
        if after is None:
            lo = np.full(n, WAVE0_FROM)
        else:
            after = after.astype("datetime64[s]")
            lo = np.maximum(np.where(np.isnat(after), WAVE0_FROM, after), WAVE0_FROM)
        lo = np.minimum(lo, WAVE0_UNTIL - np.timedelta64(1, "h"))
        span = (WAVE0_UNTIL - lo).astype(np.int64)
        return lo + (self.rng.random(n) * span).astype("timedelta64[s]")

    def wave1_at(self, n: int) -> np.ndarray:
        span = int((WAVE1_UNTIL - WAVE0_UNTIL - np.timedelta64(1, "D")).astype(np.int64))
        return WAVE0_UNTIL + np.timedelta64(1, "D") + self.rng.integers(1, span, n).astype("timedelta64[s]")

    def late_at(self, n: int) -> np.ndarray:
        """Times older than the newest wave-0 rows: an update that arrives after rows already sent."""
        return WAVE0_UNTIL - self.rng.integers(3600, 48 * 3600, n).astype("timedelta64[s]")

    def table(self, name: str, columns: dict[str, np.ndarray], wave: int = 0) -> pa.Table:
        """Add rows (one version each) to a dataset; wave 1 rows are later versions of the same keys."""
        first = next(iter(columns.values()))
        cols = {name: pa.array(values) for name, values in columns.items()}  # datetime64[D] -> date32
        cols["_wave"] = pa.array(np.full(len(first), wave, dtype=np.int8))
        table = pa.table(cols)
        if name in self.tables:
            table = pa.concat_tables([self.tables[name], table.cast(self.tables[name].schema)])
        self.tables[name] = table
        return table


def keys(prefix: str, n: int, start: int = 0, width: int = 9) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(start, start + n)], dtype=object)


def take(columns: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in columns.items()}


def break_check_char(id_number: str) -> str:
    wrong = "0123456789X".replace(id_number[-1], "")
    return id_number[:-1] + wrong[sum(map(ord, id_number)) % len(wrong)]


def legacy_15(id_number: str) -> str:
    """The pre-1999 form: no century digits, no check character."""
    return id_number[:6] + id_number[8:17]


def one_char_diff(name: str, rng: np.random.Generator, pool: str) -> str:
    spots = [i for i, c in enumerate(name) if i > 0 and c != "·"]
    i = spots[int(rng.integers(len(spots)))]
    options = pool.replace(name[i], "")
    return name[:i] + options[int(rng.integers(len(options)))] + name[i + 1 :]


def bad_phone(phone: str, rng: np.random.Generator) -> str:
    """Not a mainland mobile: a digit short, or a prefix no carrier uses."""
    return phone[:-1] if rng.random() < 0.5 else "12" + phone[2:]


PHONE_STYLES = ("+86 {p}", "{a} {b} {c}", "{a}-{b}-{c}", "+86-{a}-{b}-{c}")


def styled_phone(phone: str, style: int) -> str:
    return PHONE_STYLES[style].format(p=phone, a=phone[:3], b=phone[3:7], c=phone[7:])

"""The ground-truth manifest: every anomaly the sandbox planted, with the records involved.

Tests and the warehouse's discrepancy views are scored against it (precision and recall), so each
entry names exact records (dataset + primary key), never a sample.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# What each kind means, for the manifest file and the README.
ANOMALY_KINDS = {
    "dead_but_registered": "died per health, household registration still active in civil affairs",
    "dead_but_active_phone": "died per health, a phone subscription still active",
    "tenant_not_registered": "tenant on a rental filing, registered at another address",
    "duplicate_household_registration": "one person registered in two households",
    "unknown_to_civil": "patient in health records whose ID civil affairs does not know",
    "invalid_id_check": "resident ID whose check character is wrong",
    "legacy_15_digit_id": "15-digit ID issued before 1999",
    "fullwidth_digits": "ID or phone written with full-width digits",
    "name_one_char_diff": "name differs from the civil registration by one character",
    "birth_date_mismatch": "birth date field disagrees with the ID number",
    "invalid_phone": "phone number that is not a valid mainland mobile number",
    "late_arriving_update": "update whose updated_at is older than rows already served",
}


@dataclass
class Manifest:
    seed: int
    people: int
    anomalies: list[dict] = field(default_factory=list)
    variants: Counter = field(default_factory=Counter)

    def add(self, kind: str, records: list[tuple[str, str]], **detail: str) -> None:
        """Record one planted anomaly; ``records`` are (dataset, primary key) pairs."""
        assert kind in ANOMALY_KINDS, kind
        entry = {
            "id": f"A{len(self.anomalies) + 1:07d}",
            "kind": kind,
            "records": [{"dataset": d, "key": k} for d, k in records],
        }
        if detail:
            entry["detail"] = detail
        self.anomalies.append(entry)

    def count(self, variant: str, n: int) -> None:
        """Count a planted format variant (phone with +86, date as 2017年12月8日, ...): normal, not an error."""
        self.variants[variant] += int(n)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(a["kind"] for a in self.anomalies).items()))

    def to_dict(self) -> dict:
        return {
            "seed": self.seed,
            "people": self.people,
            "kinds": ANOMALY_KINDS,
            "counts": self.counts(),
            "variants": dict(sorted(self.variants.items())),
            "anomalies": self.anomalies,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))

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
    # linkage noise: the record named first is one person's, the second a clean record of the same person
    "link_missing_id": "health record without an ID number",
    "link_homophone_name": "health record without an ID, a given-name character replaced by a homophone",
    "link_name_typo": "health record without an ID, a name of three or more characters one character off",
    "link_dob_swap": "health record without an ID, birth date with day and month swapped",
    "link_id_swapped": "subscriber ID with two neighbouring digits swapped (check character now wrong)",
    "link_id_typo": "subscriber ID one digit off, with a valid check character (another valid ID)",
    "link_legacy_id": "subscriber registered under the 15-digit legacy ID",
    "link_phone_digit": "tenant phone one digit off",
    "link_two_addresses": "property owner registered at another address",
    "namesakes": "two different men born in the same year, both named 王伟: never one person",
}
# detail.variant of a discrepancy: how an exact ID join misses it (absent: it does not)
VARIANTS = {
    "missing_id": "the health record has no ID number",
    "one_char": "the health record has no ID and its name (3+ characters) is one character off, or the second "
    "registration's ID "
    "is one digit off",
}


@dataclass
class Manifest:
    seed: int
    people: int
    anomalies: list[dict] = field(default_factory=list)
    variants: Counter = field(default_factory=Counter)
    truth: object = None  # pyarrow Table (dataset, key, person): every person-bearing record's true person

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
            "discrepancy_variants": VARIANTS,
            "counts": self.counts(),
            "variants": dict(sorted(self.variants.items())),
            "anomalies": self.anomalies,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))

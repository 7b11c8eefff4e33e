"""How well the warehouse's discrepancy views find what the sandbox planted: precision and recall of each
view against the ground-truth manifest. Only the sandbox knows the truth, so only it scores."""

from __future__ import annotations

import duckdb

# discrepancy view -> (manifest anomaly kind, key column, datasets its keys belong to)
PLANTED = {
    "shared.dead_with_active_phone": ("dead_but_active_phone", "subscriber_id", ("telecom.subscribers",)),
    "shared.dead_but_registered": ("dead_but_registered", "resident_id", ("civil.residents",)),
    "shared.tenant_not_registered": (
        "tenant_not_registered",
        "rental_key",
        ("housing.rentals", "housing.rental_filings"),
    ),
    "shared.duplicate_registration": ("duplicate_household_registration", "resident_id", ("civil.residents",)),
    "shared.health_unknown_to_civil": ("unknown_to_civil", "patient_id", ("health.patients",)),
}


def score(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict[str, dict]:
    """Precision and recall of each published discrepancy view against a sandbox ground-truth manifest;
    recall also per variant (``exact``, and those an ID join misses: ``missing_id``, ``one_char``)."""
    existing = {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'lake'"
        ).fetchall()
    }
    out = {}
    for view, (kind, key, datasets) in PLANTED.items():
        if view not in existing:
            continue
        found = {row[0] for row in con.execute(f"SELECT DISTINCT {key} FROM {view}").fetchall()}
        planted = {
            r["key"]
            for a in manifest["anomalies"]
            if a["kind"] == kind
            for r in a["records"]
            if r["dataset"] in datasets
        }
        hits = len(found & planted)
        variants: dict[str, set[str]] = {}
        for a in manifest["anomalies"]:
            if a["kind"] == kind:
                variant = a.get("detail", {}).get("variant", "exact")
                variants.setdefault(variant, set()).update(r["key"] for r in a["records"] if r["dataset"] in datasets)
        out[view] = {
            "variants": {v: len(found & keys) / len(keys) for v, keys in sorted(variants.items()) if keys},
            "kind": kind,
            "found": len(found),
            "planted": len(planted),
            "true_positives": hits,
            "precision": hits / len(found) if found else 1.0,
            "recall": hits / len(planted) if planted else 1.0,
        }
    return out

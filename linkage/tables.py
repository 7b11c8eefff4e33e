"""The lake tables linkage writes, by name and columns: kept apart so the access policy can read them
without loading splink."""

from __future__ import annotations

from linkage import features

TABLES = {
    "shared.person_link": "dataset VARCHAR, record_key VARCHAR, person_key BIGINT, matched_by VARCHAR, "
    "match_probability DOUBLE, match_rule VARCHAR, run_id VARCHAR",
    "shared.person_cluster": "person_key BIGINT, records BIGINT, datasets VARCHAR[], weakest_probability DOUBLE, "
    "run_id VARCHAR",
    "shared.person_key_history": "run_id VARCHAR, changed_at TIMESTAMPTZ, event VARCHAR, person_key BIGINT, "
    "other_key BIGINT, records BIGINT",
    "linkage.features": ", ".join(
        f"{c} {'DATE' if c == 'birth_date' else 'INTEGER' if c == 'birth_year' else 'VARCHAR'}"
        for c in features.FEATURES
    )
    + ", fingerprint VARCHAR",
    "linkage.person_index": "id_number VARCHAR, person_key BIGINT",
    "linkage.models": "run_id VARCHAR, trained_at TIMESTAMPTZ, records BIGINT, model JSON",
    "linkage.runs": "run_id VARCHAR, mode VARCHAR, ran_at TIMESTAMPTZ, seconds DOUBLE, records BIGINT, linked BIGINT, "
    "candidate_pairs BIGINT, pairs BIGINT, persons BIGINT, model_run VARCHAR",
}


def columns(table: str) -> list[str]:
    """Column names of one of :data:`TABLES`."""
    return [item.strip().split()[0] for item in TABLES[table].split(",")]

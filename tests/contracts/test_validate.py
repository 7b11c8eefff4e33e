"""Every batch is validated: the planted anomalies are caught by the right rule, clean rows pass,
and rows in = rows passed + rows quarantined."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import extract, sources, staging
from connectors.records import parse_offset
from contracts import contracts, validate_batch
from contracts.checks import compile_contract, for_source
from contracts.validate import validate
from sandbox import store
from sandbox.manifest import read_manifest
from tests.conftest import connections_for
from xgate.settings import Settings


@pytest.fixture(scope="module")
def validated(sandbox_settings, source_databases, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("validated")
    inbox = root / "inbox"
    shutil.copytree(store.paths(sandbox_settings).inbox, inbox)
    settings = Settings(data_dir=root / "xgate", connections=connections_for(sandbox_settings, inbox, source_databases))
    every: dict[str, list] = {}  # a file drop stages one batch per file
    for source in sorted(sources(), key=lambda name: name != "civil"):  # civil first: others refer to it
        for batch in extract(settings, source):
            every.setdefault(for_source(source, batch.stream).id, []).append(validate_batch(settings, batch.batch_id))
    return {
        "settings": settings,
        "outcomes": {dataset: max(found, key=lambda o: o.rows_in) for dataset, found in every.items()},
        "every": every,
        "manifest": read_manifest(store.paths(sandbox_settings).manifest),
    }


def passed_rows(validated: dict, dataset: str) -> pa.Table:
    """The passing rows of every batch of ``dataset``."""
    tables = [pq.read_table(o.validated_path) for o in validated["every"][dataset]]
    return pa.concat_tables(tables, promote_options="permissive")


def _rows(settings: Settings, kind: str) -> list[dict]:
    files = sorted((settings.data_dir / "quality" / kind).glob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def _flagged(validated: dict, kind: str) -> dict[str, set[tuple[str, str]]]:
    """rule check name -> {(dataset, primary key)} flagged in quarantine or findings."""
    keys = {c.id: c.primary_key for c in contracts().values()}
    out = defaultdict(set)
    for row in _rows(validated["settings"], kind):
        out[row["rule_key"].rsplit("__", 1)[-1]].add((row["dataset"], json.loads(row["record"])[keys[row["dataset"]]]))
    return out


def _planted(validated: dict, *kinds: str) -> set[tuple[str, str]]:
    return {
        (r["dataset"], r["key"]) for a in validated["manifest"]["anomalies"] if a["kind"] in kinds for r in a["records"]
    }


def _noisy(validated: dict, *kinds: str) -> set[tuple[str, str]]:
    """Records the sandbox made noisy for linkage (the first record of each pair; the second is clean)."""
    return {
        (a["records"][0]["dataset"], a["records"][0]["key"])
        for a in validated["manifest"]["anomalies"]
        if a["kind"] in kinds
    }


def test_rows_in_equal_passed_plus_quarantined(validated) -> None:
    settings = validated["settings"]
    for dataset, outcome in validated["outcomes"].items():
        assert outcome.rows_in == outcome.rows_passed + outcome.rows_quarantined, dataset
        assert pq.read_metadata(outcome.validated_path).num_rows == outcome.rows_passed
        quarantine = settings.data_dir / "quality" / "quarantine" / f"{outcome.batch_id}.parquet"
        distinct = duckdb.sql(f"SELECT count(DISTINCT row_number) FROM '{quarantine}'").fetchone()[0]
        assert distinct == outcome.rows_quarantined, dataset
    assert set(validated["outcomes"]) == set(contracts())


def test_one_pass_counts_what_great_expectations_counts(validated) -> None:
    """The checks GX compiled, run in one pass, count per rule what GX counts when it validates the
    prepared batch itself, for every dataset of the sandbox."""
    import great_expectations as gx

    from contracts.engine import prepare_sql
    from contracts.gx_compile import duckdb_session, expectation
    from contracts.validate import _references

    settings, flagged = validated["settings"], 0
    for dataset, outcome in validated["outcomes"].items():
        contract = contracts()[dataset]
        listing = ", ".join(f"'{f}'" for f in staging.batch_files(settings, outcome.batch_id))
        with duckdb_session() as (source, run):
            run(f"CREATE VIEW incoming AS SELECT * FROM read_parquet([{listing}], union_by_name = true)")
            described = run("DESCRIBE incoming")
            columns, text = [r[0] for r in described], {r[0] for r in described if r[1] == "VARCHAR"}
            references = _references(settings, contract, run)
            prepared_sql = prepare_sql(contract, "incoming", columns, references, "row_number() OVER ()", text)
            run(f"CREATE TABLE prepared AS {prepared_sql}")
            prepared = [r[0] for r in run("DESCRIBE prepared")]
            suite = gx.ExpectationSuite(name=dataset)
            for check in contract.checks:
                if check.field in prepared and (built := expectation(check, prepared)):
                    suite.add_expectation(built)
            batch = source.add_table_asset("p", table_name="prepared").add_batch_definition_whole_table("a").get_batch()
            results = batch.validate(suite, result_format="BASIC").results
        theirs = {r.expectation_config.meta["key"]: r.result["unexpected_count"] for r in results}
        ours = {r.check.key: r.unexpected for r in outcome.rules if not r.skipped}
        assert ours == theirs, dataset
        flagged += sum(theirs.values())
    assert flagged > 0


def test_every_planted_error_is_caught_by_the_right_rule(validated) -> None:
    quarantined = _flagged(validated, "quarantine")
    assert _planted(validated, "invalid_id_check") <= quarantined["resident_id"]
    assert _planted(validated, "birth_date_mismatch") <= quarantined["id_birth_date"]
    assert _planted(validated, "invalid_phone") <= quarantined["mobile_phone"]


def test_no_clean_row_is_quarantined(validated) -> None:
    # an ID with two digits swapped has a wrong check character: it is an invalid ID, as planted ones are
    planted = _planted(validated, "invalid_id_check", "birth_date_mismatch", "invalid_phone") | _noisy(
        validated, "link_id_swapped"
    )
    everything = set().union(*_flagged(validated, "quarantine").values())
    assert everything == planted


def test_warnings_land_with_findings(validated) -> None:
    findings = _flagged(validated, "findings")
    assert _planted(validated, "legacy_15_digit_id") <= findings["legacy_id"]
    assert _planted(validated, "fullwidth_digits") <= findings["fullwidth"]
    # a second registration whose ID is one digit off (the one_char variant) is another valid ID to a
    # per-batch rule: only linkage finds that duplicate (shared.duplicate_registration)
    exact = [a for a in validated["manifest"]["anomalies"] if a["kind"] == "duplicate_household_registration"]
    exact = [a for a in exact if a.get("detail", {}).get("variant") != "one_char"]
    assert exact and {(r["dataset"], r["key"]) for a in exact for r in a["records"]} <= findings["unique_active"]
    landed = pq.read_table(validated["outcomes"]["civil.residents"].validated_path)
    legacy = {k for d, k in _planted(validated, "legacy_15_digit_id") if d == "civil.residents"}
    rows = [r for r in landed.to_pylist() if r["resident_id"] in legacy]
    assert rows and all(len(r["id_number"]) == 18 and len(r["id_number__original"]) == 15 for r in rows)


def test_results_are_kept_per_batch_and_rule(validated) -> None:
    results = _rows(validated["settings"], "results")
    outcome = validated["outcomes"]["telecom.subscribers"]
    mine = {r["rule_key"]: r for r in results if r["batch_id"] == outcome.batch_id}
    rule = mine["telecom.subscribers__id_number__resident_id"]
    assert rule["failed"] > 0 and rule["checked"] == outcome.rows_in and rule["contract_version"] == "1.0.0"
    assert 0.99 < rule["pass_ratio"] < 1
    batches = _rows(validated["settings"], "batches")
    assert {b["batch_id"] for b in batches} == {o.batch_id for found in validated["every"].values() for o in found}


def _validate_rows(validated, dataset: str, rows: list[dict], tmp_path: Path):
    contract = contracts()[dataset]
    file = tmp_path / "batch.parquet"
    pq.write_table(pa.Table.from_pylist(rows), file)
    return validate(validated["settings"], contract, [file], f"test-{dataset}", write=False)


def test_a_bad_id_fails_its_own_rule_only_and_a_full_width_space_is_empty(validated, tmp_path: Path) -> None:
    rows = pq.read_table(validated["outcomes"]["civil.residents"].validated_path).slice(0, 100).to_pylist()
    rows = [{k: v for k, v in r.items() if not k.endswith("__original")} for r in rows]
    ident = rows[0]["id_number"]
    rows[0]["id_number"] = ident[:17] + ("1" if ident[17] == "0" else "0")  # wrong check character
    rows[1]["name"] = "\u3000"  # a full-width space alone
    outcome = _validate_rows(validated, "civil.residents", rows, tmp_path)
    failed = {r.check.key: r.unexpected for r in outcome.rules if r.unexpected}
    # sex and birth date cannot be compared with an invalid ID: those pair checks skip the row, as GX counts
    assert failed == {"civil.residents__id_number__resident_id": 1, "civil.residents__name__not_null": 1}
    assert (outcome.rows_passed, outcome.rows_quarantined) == (98, 2)


@pytest.mark.parametrize("offset", ["+08:00", "+05:30", "-05:00"])
def test_freshness_reads_naive_times_in_the_source_zone(validated, tmp_path: Path, offset: str) -> None:
    rows = pq.read_table(validated["outcomes"]["telecom.subscribers"].validated_path).slice(0, 3).to_pylist()
    rows = [{k: v for k, v in r.items() if not k.endswith("__original")} for r in rows]
    for row, updated in zip(rows, ("2026-03-01T00:00:00+00:00", "2026-03-01 06:00:00", "2026-02-01"), strict=True):
        row["updated_at"] = updated
    file = tmp_path / "batch.parquet"
    pq.write_table(pa.Table.from_pylist(rows), file)
    settings = validated["settings"].model_copy(update={"source_timezone": offset})
    extracted = datetime(2026, 3, 1, 12, tzinfo=UTC)
    contract = contracts()["telecom.subscribers"]
    outcome = validate(settings, contract, [file], "fresh", write=False, extracted_at=extracted)
    aware, naive = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 6, tzinfo=parse_offset(offset))
    assert outcome.freshness_hours == round((extracted - max(aware, naive)).total_seconds() / 3600, 2)


def test_wrong_type_is_quarantined_not_a_crash(validated, tmp_path: Path) -> None:
    good = pq.read_table(validated["outcomes"]["telecom.subscribers"].validated_path).slice(0, 50).to_pylist()
    good = [{k: v for k, v in r.items() if not k.endswith("__original")} for r in good]
    good[3]["activated_at"] = "yesterday-ish"
    outcome = _validate_rows(validated, "telecom.subscribers", good, tmp_path)
    failed = {r.check.key: r.unexpected for r in outcome.rules if r.unexpected}
    assert failed == {"telecom.subscribers__activated_at__type": 1}
    assert (outcome.rows_passed, outcome.rows_quarantined) == (49, 1)


def test_error_ratio_above_threshold_holds_the_batch(validated, tmp_path: Path) -> None:
    rows = pq.read_table(validated["outcomes"]["telecom.subscribers"].validated_path).slice(0, 40).to_pylist()
    rows = [{k: v for k, v in r.items() if not k.endswith("__original")} for r in rows]
    for row in rows[:5]:
        row["msisdn"] = "12345"
    outcome = _validate_rows(validated, "telecom.subscribers", rows, tmp_path)
    assert outcome.held and "threshold" in outcome.held
    assert (outcome.rows_passed, outcome.rows_quarantined) == (0, 40)


@pytest.mark.parametrize(
    ("threshold", "held"),
    [
        ("mustBe: 0", True),  # as shipped: not one unknown carrier
        ("mustBeLessThan: 5, unit: percent", False),  # 1 of 40 rows is 2.5 %
        ("mustBeLessThan: 2, unit: percent", True),
        ("mustBeLessOrEqualTo: 1", False),
    ],
)
def test_a_rule_threshold_is_honoured_on_the_batch(validated, tmp_path: Path, threshold: str, held: bool) -> None:
    shipped = contracts()["telecom.subscribers"].path.read_text(encoding="utf-8")
    carrier = "arguments: {validValues: [中国移动, 中国联通, 中国电信]}, mustBe: 0"
    assert carrier in shipped
    path = tmp_path / "telecom.subscribers.yaml"
    path.write_text(shipped.replace(carrier, carrier.replace("mustBe: 0", threshold)), encoding="utf-8")
    rows = pq.read_table(validated["outcomes"]["telecom.subscribers"].validated_path).slice(0, 40).to_pylist()
    rows = [{k: v for k, v in r.items() if not k.endswith("__original")} for r in rows]
    rows[7]["carrier"] = "中国铁通"
    file = tmp_path / "batch.parquet"
    pq.write_table(pa.Table.from_pylist(rows), file)
    outcome = validate(validated["settings"], compile_contract(path), [file], "thresholds", write=False)
    rule = next(r for r in outcome.rules if r.check.key == "telecom.subscribers__carrier__in_set")
    assert rule.unexpected == 1 and rule.meets() is not held
    if held:
        operator, value = threshold.split(",")[0].split(": ")
        assert "carrier__in_set" in outcome.held and f"the contract says {operator} {value}" in outcome.held
        assert (outcome.rows_passed, outcome.rows_quarantined) == (0, 40)
    else:  # within the threshold: the bad row is quarantined, the batch lands
        assert not outcome.held and (outcome.rows_passed, outcome.rows_quarantined) == (39, 1)


@pytest.mark.parametrize(
    ("dataset", "policy_held", "kept"),
    [("health.patients", True, False), ("housing.rental_filings", False, False), ("telecom.subscribers", False, True)],
)
def test_schema_drift_policies(validated, tmp_path: Path, dataset, policy_held, kept) -> None:
    rows = passed_rows(validated, dataset).slice(0, 20).to_pylist()
    rows = [{k: v for k, v in r.items() if not k.endswith("__original")} | {"surprise": "x"} for r in rows]
    contract = contracts()[dataset]
    file = tmp_path / "batch.parquet"
    pq.write_table(pa.Table.from_pylist(rows), file)
    settings = validated["settings"].model_copy(update={"data_dir": tmp_path / "data"})
    outcome = validate(settings, contract, [file], f"drift-{dataset}")
    assert outcome.drift == {"added": ["surprise"]}
    assert bool(outcome.held) == policy_held
    landed = pq.read_table(outcome.validated_path)
    assert landed.num_rows == (0 if policy_held else 20)
    if not policy_held:
        assert ("surprise" in landed.column_names) == kept


def test_auditor_report_is_self_contained_and_masked(validated, tmp_path: Path) -> None:
    import re

    from contracts.report import write_report

    page = write_report(validated["settings"], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and not re.search(r"(src|href)\s*=", page)  # nothing to fetch on an isolated network
    for department in ("civil", "housing", "telecom", "health"):
        assert f"<td>{department}</td>" in page
    assert "<svg" in page and "95% target" in page
    assert "telecom.subscribers__id_number__resident_id" in page
    assert not re.search(r"\b\d{17}[\dX]\b", page)  # no full ID number leaks into the samples
    assert re.search(r"\d{6}\*{8}[\dX]{4}", page)


def test_empty_cells_are_missing_values(validated, tmp_path: Path) -> None:
    rows = passed_rows(validated, "housing.rental_filings").slice(0, 30).to_pylist()
    rows = [{k: v for k, v in r.items() if not k.endswith("__original")} for r in rows]
    rows[0]["address"] = ""  # required: quarantined
    rows[1]["end_date"] = ""  # optional: passes
    rows[2]["tenant_phone"] = "  "  # optional: passes
    outcome = _validate_rows(validated, "housing.rental_filings", rows, tmp_path)
    failed = {r.check.key: r.unexpected for r in outcome.rules if r.unexpected}
    assert failed == {"housing.rental_filings__address__not_null": 1}

"""Person linkage at scale: the lake linkage, splink with its stock comparisons, incremental runs, lists.

For each size (100k, then 1M people; ``XGATE_BENCH_LINKAGE_PEOPLE`` overrides) the warehouse suite's lake
is built (every source synced from the sandbox, :func:`bench_warehouse.build`) and measured in fresh
processes, each reporting its own time and peak RSS:

- ``full``: ``xgate link --full`` (features, training, scoring, clustering, keys, one transaction);
- ``splink``: splink 5 on the same person records as landed (no cleaning), with its library's stock
  comparisons (names by Jaro-Winkler, ID numbers by Levenshtein, dates of birth, exact sex, phone and
  address code), the usual blocking rules and the same training steps and threshold; both scored
  against the sandbox's truth (pair F1 over every record) in the same run;
- ``incremental``: 1% of the records made new (their links and features removed), then ``xgate link``;
- ``list``: a 100k-row list (civil residents: name, ID number, birth date, sex; one in ten without its
  ID) collided with the lake (:func:`linkage.files.link_list_against_lake`, the engine of ``xgate link
  file``); the CLI itself is run on the same list once and its outcome noted.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import bench_warehouse
from benchmarks.report import Result
from sandbox import store
from sandbox.manifest import read_manifest
from sandbox.settings import SandboxSettings
from xgate.settings import Settings

SIZES = tuple(int(n) for n in os.environ.get("XGATE_BENCH_LINKAGE_PEOPLE", "100000,1000000").split(","))
LIST_ROWS = 100_000
NEW_SHARE = 100  # one record in this many is made new for the incremental run


def _sandbox(data_dir: Path) -> store.SandboxPaths:
    """The sandbox the warehouse suite generated beside the lake's data directory."""
    return store.paths(SandboxSettings(data_dir=data_dir.parent / "sandbox"))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _full(data_dir: Path) -> dict:
    from linkage.lake import link_lake
    from warehouse import lake

    con = lake.connect(Settings(data_dir=data_dir))
    start = time.perf_counter()
    run = link_lake(con, full=True)
    seconds = time.perf_counter() - start
    con.close()
    return {"seconds": seconds, "records": run.records, "candidates": run.candidate_pairs, "persons": run.persons}


def _incremental(data_dir: Path) -> dict:
    from linkage.lake import link_lake
    from warehouse import lake

    con = lake.connect(Settings(data_dir=data_dir))
    new = f"hash(unique_id) % {NEW_SHARE} = 0"
    con.execute(
        f"BEGIN; DELETE FROM shared.person_link WHERE dataset || ':' || record_key IN "
        f"(SELECT unique_id FROM linkage.features WHERE {new}); DELETE FROM linkage.features WHERE {new}; COMMIT"
    )
    start = time.perf_counter()
    run = link_lake(con)
    seconds = time.perf_counter() - start
    con.close()
    return {"seconds": seconds, "records": run.records, "linked": run.linked, "candidates": run.candidate_pairs}


F1_OF = ("all records", "exact_id", "one_character", "all_planted")


def _scores(con, links: str, data_dir: Path) -> dict:
    from linkage.score import scores

    paths = _sandbox(data_dir)
    out = scores(con, links, paths.truth, read_manifest(paths.manifest))
    return {name: out[name]["f1"] for name in F1_OF}


def _ours_f1(data_dir: Path) -> dict:
    from linkage.score import lake_scores
    from warehouse import lake

    paths = _sandbox(data_dir)
    con = lake.connect(Settings(data_dir=data_dir), read_only=True)
    try:
        out = lake_scores(con, paths.truth, read_manifest(paths.manifest))
    finally:
        con.close()
    return {name: out[name]["f1"] for name in F1_OF}


def _splink(data_dir: Path) -> dict:
    """Splink's stock comparisons on the records as landed, trained and thresholded as ours is."""
    import logging

    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    from linkage import engine
    from linkage.sources import person_records_sql
    from warehouse import lake
    from xgate import duck

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = lake.connect(Settings(data_dir=data_dir), read_only=True)
    records = con.execute(person_records_sql(con)).to_arrow_table()
    con.close()
    start = time.perf_counter()
    work = duck.connect()
    work.register("_r", records)
    work.execute(
        "CREATE TABLE people AS SELECT unique_id, name, id_number, CAST(birth_date AS VARCHAR) AS birth_date, sex, "
        "phone, address_code FROM _r"
    )
    api = DuckDBAPI(connection=work)
    spec = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("name"),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("address_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("name", "substr(birth_date, 1, 4)"),
            block_on("phone"),
            block_on("address_code", "substr(name, 1, 1)"),
        ],
        max_iterations=20,
    )
    linker = Linker(api.register("people"), spec, log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on("id_number", "name")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=engine.U_PAIRS, seed=1)
    for rule in (block_on("id_number"), block_on("name")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=engine.EM_PAIRS)
    frame = linker.inference.predict()
    candidates = work.execute(f"SELECT count(*) FROM {frame.physical_name}").fetchone()[0]
    found = cluster_pairwise_predictions_at_threshold(
        api.register("people"), frame, api, "unique_id", threshold_match_probability=0.9
    )
    work.execute(
        f"CREATE TABLE _linked AS SELECT c.unique_id, c.cluster_id AS person_key, p.id_number AS id18 "
        f"FROM {found.physical_name} c JOIN people p USING (unique_id)"
    )
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "candidates": candidates, "f1": _scores(work, "_linked", data_dir)}
    work.close()
    return out


def _make_list(data_dir: Path, path: Path) -> int:
    """The list (at most :data:`LIST_ROWS` civil residents); its rows."""
    from warehouse import lake

    con = lake.connect(Settings(data_dir=data_dir), read_only=True)
    try:
        con.execute(
            f"""COPY (SELECT resident_id AS 编号, name AS 姓名,
                  CASE WHEN hash(resident_id) % 10 = 0 THEN NULL ELSE id_number END AS 身份证号,
                  birth_date AS 出生日期, sex AS 性别
                FROM raw.civil_residents USING SAMPLE {LIST_ROWS} ROWS (reservoir, 7)) TO '{path}' (HEADER)"""
        )
        return con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchone()[0]
    finally:
        con.close()


MAP = "name=姓名,id_number=身份证号,birth_date=出生日期,sex=性别"


def _list(data_dir: Path, path: Path) -> dict:
    from linkage import files
    from warehouse import lake

    table = files.read_list(path, files.parse_map(MAP), None, "list")
    con = lake.connect(Settings(data_dir=data_dir), read_only=True)
    start = time.perf_counter()
    pairs = files.link_list_against_lake(con, files.list_features(table))
    seconds = time.perf_counter() - start
    con.close()
    truth = sum(1 for a, b in zip(pairs.column("key_l").to_pylist(), pairs.column("key_r").to_pylist())
                if b == f"civil.residents:{a}")  # fmt: skip
    return {"seconds": seconds, "pairs": pairs.num_rows, "found_self": truth}


def _cli(data_dir: Path, path: Path) -> dict:
    """``xgate link file`` on the list, as an investigator on a case (the whole command, start-up included)."""
    from access import grants
    from access.users import User

    folder = path.parent
    users = folder / "users.yaml"
    account = pwd.getpwuid(os.getuid()).pw_name
    users.write_text(f"users:\n  - {{name: li, role: investigator, os_account: {account}}}\n", encoding="utf-8")
    env = os.environ | {
        "XGATE_DATA_DIR": str(data_dir),
        "XGATE_USERS_FILE": str(users),
        "XGATE_AUDIT_DIR": str(folder / "audit"),
        "XGATE_ACCESS_DIR": str(folder / "access"),
    }
    settings = Settings(data_dir=data_dir, users_file=users, audit_dir=folder / "audit", access_dir=folder / "access")
    grants.open_case(settings, User(name="li", role="investigator"), "BENCH-LINK", "benchmark")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "xgate", "link", "file", str(path), "--map", MAP, "--case", "BENCH-LINK",
         "--purpose", "benchmark", "--out", str(folder / "pairs.csv")],
        capture_output=True, text=True, env=env, cwd=folder,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "exit": result.returncode, "message": (result.stderr or result.stdout).strip()[-300:]}


def _child(step: str, *args: str) -> dict:
    """Run a step in a fresh process: its figures, with the process's peak RSS."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_linkage", step, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{step} failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(people: int) -> list[Result]:
    settings, _ = bench_warehouse.build(people)
    data_dir = str(settings.data_dir)
    full = _child("full", data_dir)
    ours_f1 = _child("f1", data_dir)
    theirs = _child("splink", data_dir)
    incremental = _child("incremental", data_dir)
    print(f"linkage {people:,}: full {full}, splink {theirs}, incremental {incremental}", file=sys.stderr)
    results = [
        Result(
            "linkage",
            f"xgate link --full, {people:,} people ({full['records']:,} person records)",
            full["records"] / full["seconds"],
            "splink 5, stock comparisons, same records",
            full["records"] / theirs["seconds"],
            f"{full['seconds']:.0f} s vs {theirs['seconds']:.0f} s; peak RSS {full['rss_mb']:,.0f} vs "
            f"{theirs['rss_mb']:,.0f} MB; candidate pairs {full['candidates']:,} vs {theirs['candidates']:,}; "
            f"pair F1 over all records {ours_f1['all records']:.4f} vs {theirs['f1']['all records']:.4f}, "
            f"exact-ID pairs {ours_f1['exact_id']:.4f} vs {theirs['f1']['exact_id']:.4f}, one character off "
            f"{ours_f1['one_character']:.4f} vs {theirs['f1']['one_character']:.4f}, all planted "
            f"{ours_f1['all_planted']:.4f} vs {theirs['f1']['all_planted']:.4f}",
        ),
        Result(
            "linkage",
            f"xgate link, incremental: {incremental['linked']:,} new records (1%) of {people:,} people",
            incremental["linked"] / incremental["seconds"],
            "xgate link --full, same lake",
            full["records"] / full["seconds"],
            f"{incremental['seconds']:.1f} s = {incremental['seconds'] / full['seconds']:.1%} of the full run "
            f"(target <= 10%); peak RSS {incremental['rss_mb']:,.0f} MB; candidate pairs "
            f"{incremental['candidates']:,}",
        ),
    ]
    results.append(_list_result(people, Path(data_dir), full))
    return results


def _list_result(people: int, data_dir: Path, full: dict) -> Result:
    path = data_dir.parent / "list.csv"
    rows = _make_list(data_dir, path)
    listed = _child("list", str(data_dir), str(path))
    cli = _cli(data_dir, path)
    print(f"linkage {people:,}: list {listed}, cli {cli}", file=sys.stderr)
    outcome = "ran" if cli["exit"] == 0 else f"exit {cli['exit']}: {cli['message']}"
    return Result(
        "linkage",
        f"link a {rows:,}-row list against {people:,} people (xgate link file's engine)",
        rows / listed["seconds"],
        "xgate link --full of the lake",
        full["records"] / full["seconds"],
        f"{listed['seconds']:.1f} s, peak RSS {listed['rss_mb']:,.0f} MB, {listed['pairs']:,} pairs >= 0.5, "
        f"{listed['found_self']:,} of {rows:,} rows found their own record; the CLI (case, audit): "
        f"{cli['seconds']:.0f} s, {outcome}",
    )


def run() -> list[Result]:
    results = []
    for people in SIZES:
        results += measure(people)
    return results


STEPS = {"full": _full, "incremental": _incremental, "splink": _splink, "f1": _ours_f1}

if __name__ == "__main__":
    step, folder, *rest = sys.argv[1:]
    figures = _list(Path(folder), Path(rest[0])) if step == "list" else STEPS[step](Path(folder))
    figures["rss_mb"] = _peak_mb()
    print(json.dumps(figures))

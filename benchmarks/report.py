"""One row per measurement, always beside its baseline from the same run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

NOTES = """
## How to read these

- **sandbox**: generating the whole prefecture (population, eleven department datasets, the manifest,
  the GBK/XLSX drops) against a plain Faker loop producing four fields per person.
- **connectors**: a full extraction of one stream with retries, checkpoints, lineage columns and
  staging on, against the bare floor of that kind of source (a `requests` page loop writing Parquet;
  DuckDB's postgres scanner copying the table), and against dlt 1.31 on the same pull, run from its
  own environment (`.venv-anchors`, created by `make bench`). The sandbox APIs and PostgreSQL run on
  the same 2-core machine as the client, so figures move by about 10% between runs.
- **contracts**: validating a batch against the 18 rules of the telecom contract (the suite Great
  Expectations compiled, run in one pass on DuckDB with the default 2GB validation memory), including
  normalisation and writing the split (passing rows, quarantine, findings, results), against DuckDB
  evaluating the same rules as plain SQL in one pass (counts only; best of interleaved runs, as ours),
  and against `datacontract test` 1.2.8 on the same file with the rules it can express (required,
  unique, valid values, patterns, the ID check character as SQL), from `.venv-datacontract`. Peak RSS
  is sampled the same way for both: a fresh process validating the file once.
- **access**: `xgate person` through the access layer (role and case checks, grants, column masks at
  the scan, the sections in one transaction on the kept locked lake instance, result hash, two fsynced
  hash-chained audit appends) against the same section queries on a plain read-only DuckDB connection,
  interleaved lookup by lookup on the warehouse suite's lake (`XGATE_BENCH_ACCESS_PEOPLE`, default 1M);
  the ratio is lookups/s, so 0.67 or more meets the 1.5x target. Audit
  appends against appending the same JSON line to a plain file with fsync. CLI start-up (about 4 s of
  imports on 2 cores, shared by every `xgate` command) is not in these figures.
- **linkage**: on the warehouse suite's lake of 100k and 1M people (every person-bearing record: about
  3.3 records per person), each step in a fresh process with its own peak RSS. `xgate link --full`
  (features, pinyin, training, scoring every candidate pair, clustering, stable keys, one transaction)
  against splink 5 with its library's stock comparisons (Jaro-Winkler names, Levenshtein IDs, dates of
  birth, exact sex, phone and address code) on the same records as landed, trained the same way and
  cut at the same 0.9; both scored against the sandbox's truth as pair F1 in the same run. Incremental:
  1% of the records made new (links and features removed), then `xgate link`; its share of the full
  run's time is the figure to read (target <= 10%). Lists: up to 100k civil residents (one in ten
  without its ID) collided with the same lake by `xgate link file`'s engine, and once through the CLI.
- **web**: the person page fetched over HTTP from `xgate web` running in its own uvicorn process (sign-in
  cookie checked, the look-up reference resolved, the read through the access layer with a fresh
  `Reader` on the server's kept lake instance, the page rendered), against the same look-up through the
  access layer in the benchmark's process with a fresh `Reader` too, interleaved look-up by look-up; the
  scale is `XGATE_BENCH_WEB_PEOPLE` (default the warehouse suite's 1M). With `XGATE_BENCH_LAKES` set, the
  lakes are built once into that folder and reused by later runs.
"""


@dataclass
class Result:
    suite: str
    task: str
    rows_per_s: float
    baseline: str
    baseline_rows_per_s: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.rows_per_s / self.baseline_rows_per_s


def write_report(path: Path, results: list[Result], machine: str, day: str, kept: list[str] | None = None) -> None:
    table = Table("suite", "task", "xgate rows/s", "baseline", "baseline rows/s", "ratio", "note")
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {day}, {machine}. Ratios are xgate / baseline, both measured in",
        "the same run (above 1 means xgate is faster).",
        "",
        "| suite | task | xgate rows/s | baseline | baseline rows/s | ratio | note |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in results:
        cells = (
            r.suite,
            r.task,
            f"{r.rows_per_s:,.0f}",
            r.baseline,
            f"{r.baseline_rows_per_s:,.0f}",
            f"{r.ratio:.2f}",
            r.note,
        )
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    order = ["sandbox", "connectors", "contracts", "warehouse", "access", "linkage", "web"]
    rows = lines[7:] + list(kept or [])
    rows.sort(key=lambda line: order.index(line.split("|")[1].strip()) if line.split("|")[1].strip() in order else 99)
    lines = lines[:7] + rows
    Console().print(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n" + NOTES, encoding="utf-8")

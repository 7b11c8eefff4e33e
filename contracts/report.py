"""The auditor's report: one self-contained HTML file (inline CSS and SVG, no script, no CDN).

It answers, from the validation results kept per batch and rule: which departments and contracts
pass, how accuracy (rows passing every error rule) and freshness (newest record within the SLA) stand
against the 95% target, how pass rates moved over runs, and which rules fail most, with sample
quarantined rows masked by the contract's classification; and the linkage runs with the model's
match-weight and m/u charts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import duckdb

from contracts.checks import contracts
from contracts.masking import mask_record
from xgate.settings import Settings

TARGET = 0.95
CSS = """body{font:14px/1.45 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}table{border-collapse:collapse;
margin:.5rem 0}td,th{border:1px solid #ccd;padding:.25rem .6rem;text-align:left}th{background:#eef2f7}
.ok{color:#16794c;font-weight:600}.bad{color:#b42318;font-weight:600}.num{text-align:right}
code{font-size:12px;background:#f4f6f8;padding:0 .2rem}.note{color:#556}"""


def _quality(settings: Settings, kind: str) -> str:
    return str(settings.data_dir / "quality" / kind / "*.parquet")


def _has(settings: Settings, kind: str) -> bool:
    return any((settings.data_dir / "quality" / kind).glob("*.parquet"))


def _rate(value: float | None) -> str:
    if value is None:
        return "<td class='num'>n/a</td>"
    return f"<td class='num {'ok' if value >= TARGET else 'bad'}'>{value:.1%}</td>"


def _trend_svg(points: dict[str, list[tuple[int, float]]], runs: int) -> str:
    """Pass rate per department over validation runs, as an inline SVG line chart."""
    width, height, pad = 720, 240, 36
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
    low = min([0.9] + [v for series in points.values() for _, v in series])

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * (i / max(1, runs - 1))
        y = height - pad - (height - 2 * pad) * ((v - low) / max(1e-9, 1 - low))
        return f"{x:.1f},{y:.1f}"

    target_y = xy(0, TARGET).split(",")[1]
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='pass rate per run'><rect width='100%' height='100%' fill='#fbfcfd'/>",
        f"<line x1='{pad}' x2='{width - pad}' y1='{target_y}' y2='{target_y}' stroke='#999' stroke-dasharray='4'/>",
        f"<text x='{width - pad}' y='{float(target_y) - 4}' font-size='11' text-anchor='end'>95% target</text>",
        f"<text x='4' y='{pad - 12}' font-size='11'>{low:.0%}–100% pass rate, by validation run</text>",
    ]
    for n, (name, series) in enumerate(sorted(points.items())):
        colour = colours[n % len(colours)]
        parts.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='2' "
            f"points='{' '.join(xy(i, v) for i, v in series)}'/>"
        )
        parts += [
            f"<circle cx='{xy(i, v).split(',')[0]}' cy='{xy(i, v).split(',')[1]}' r='3' fill='{colour}'/>"
            for i, v in series
        ]
        parts.append(f"<text x='{pad + n * 110}' y='{height - 8}' font-size='12' fill='{colour}'>{escape(name)}</text>")
    return "".join(parts) + "</svg>"


def build_report(settings: Settings) -> str:
    known = contracts()
    con = duckdb.connect()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = [
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>xgate data quality report</title>"
        f"<style>{CSS}</style></head><body><h1>xgate data quality report</h1>"
        f"<p class='note'>Generated {now} from {escape(str(settings.data_dir))}. Target: accuracy and freshness "
        f"at or above {TARGET:.0%} (准确率、鲜活率 ≥ 95%).</p>"
    ]
    rejected = _counted(settings, con)
    if not _has(settings, "batches"):
        return "".join(html) + "<p>No batch has been validated yet.</p>" + _rejected(rejected) + "</body></html>"
    batches = validations(settings, con)
    latest = {}
    for batch in batches:
        latest[batch["dataset"]] = batch
    html.append(
        "<h2>Departments</h2><table><tr><th>department</th><th>datasets</th><th>rows (latest batches)</th>"
        "<th>accuracy</th><th>freshness</th></tr>"
    )
    by_department: dict[str, list[dict]] = {}
    for batch in latest.values():
        by_department.setdefault(batch["department"], []).append(batch)
    for department, items in sorted(by_department.items()):
        rows = sum(b["rows_in"] for b in items)
        accuracy = sum(b["rows_passed"] for b in items) / rows if rows else None
        fresh = [b["freshness_ok"] for b in items if b["freshness_ok"] is not None]
        html.append(
            f"<tr><td>{escape(department)}</td><td class='num'>{len(items)}</td><td class='num'>{rows:,}</td>"
            f"{_rate(accuracy)}{_rate(sum(fresh) / len(fresh) if fresh else None)}</tr>"
        )
    html.append(
        "</table><h2>Contracts</h2><table><tr><th>contract</th><th>version</th><th>last batch</th>"
        "<th>rows in</th><th>passed</th><th>quarantined</th><th>accuracy</th><th>newest record age</th>"
        "<th>SLA</th><th>note</th></tr>"
    )
    for dataset, b in sorted(latest.items()):
        sla = known[dataset].freshness if dataset in known else None
        age = f"{b['freshness_hours'] / 24:.1f} d" if b["freshness_hours"] is not None else "n/a"
        fresh = (
            ""
            if b["freshness_ok"] is None
            else ("<span class='ok'>met</span>" if b["freshness_ok"] else "<span class='bad'>missed</span>")
        )
        note = escape(b["held"] or (f"schema drift {b['drift']}" if b["drift"] not in ("{}", None) else ""))
        html.append(
            f"<tr><td>{escape(dataset)}</td><td>{escape(b['contract_version'])}</td>"
            f"<td><code>{escape(b['batch_id'])}</code></td><td class='num'>{b['rows_in']:,}</td>"
            f"<td class='num'>{b['rows_passed']:,}</td><td class='num'>{b['rows_quarantined']:,}</td>"
            f"{_rate(b['rows_passed'] / b['rows_in'] if b['rows_in'] else None)}<td>{age}</td>"
            f"<td>{sla.days if sla else '-'} d {fresh}</td><td>{note}</td></tr>"
        )
    html.append("</table><h2>Trend</h2>")
    points: dict[str, list[tuple[int, float]]] = {}
    for i, batch in enumerate(batches):
        if batch["rows_in"]:
            points.setdefault(batch["department"], []).append((i, batch["rows_passed"] / batch["rows_in"]))
    html.append(_trend_svg(points, len(batches)))
    html.append(_rejected(rejected, [b for b in batches if b["held"]]))
    html.append(_failing_rules(settings, con, known))
    from linkage.charts import report_section

    html.append(report_section(settings))
    return "".join(html) + "</body></html>"


def _rejected(rejected: list, held: list[dict] | None = None) -> str:
    """Files rejected whole and batches held whole, with their reasons: each waits for someone."""
    if not rejected and not held:
        return ""
    html = [
        "<h2>Held and rejected</h2><p class='note'>Each waits for an engineer: <code>xgate batches</code>, then "
        "<code>release</code> or <code>replay</code>.</p><table><tr><th>batch</th><th>status</th><th>reason</th></tr>"
    ]
    for b in held or []:
        html.append(f"<tr><td><code>{escape(b['batch_id'])}</code></td><td>held</td><td>{escape(b['held'])}</td></tr>")
    for r in rejected:
        reason = escape(r["error"] or "")
        html.append(f"<tr><td><code>{escape(r['batch_id'])}</code></td><td>rejected</td><td>{reason}</td></tr>")
    return "".join(html) + "</table>"


def _counted(settings: Settings, con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Fill ``counted`` with the batches whose validations count: those of batches that landed (held ones
    land in quarantine) or are staged to land; a run that died after validating is validated again by the
    next, whose landing supersedes the dead one's batch: it does not count twice. Returns the rejected
    batches."""
    from connectors.state import StateStore

    ledger = StateStore(settings.state_dir)
    con.execute("CREATE TABLE IF NOT EXISTS counted (batch_id VARCHAR)")
    counted = [(r["batch_id"],) for r in ledger.batches("landed", "staged")]
    if counted:
        con.executemany("INSERT INTO counted VALUES (?)", counted)
    return ledger.batches("rejected")


def validations(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> list[dict]:
    """Every counted batch validation, oldest first: dataset, department, rows in and passed, freshness, held."""
    own = con is None
    con = con or duckdb.connect()
    try:
        if own:
            _counted(settings, con)
        if not _has(settings, "batches"):
            return []
        cursor = con.execute(
            f"SELECT * FROM read_parquet('{_quality(settings, 'batches')}', union_by_name=true) "
            "WHERE batch_id IN (SELECT batch_id FROM counted) ORDER BY validated_at"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        if own:
            con.close()


def failing_rules(settings: Settings, con: duckdb.DuckDBPyConnection | None = None, most: int = 10) -> list[tuple]:
    """The rules that fail most over counted batches: (rule key, severity, rows failed, rows checked)."""
    own = con is None
    con = con or duckdb.connect()
    try:
        if own:
            _counted(settings, con)
        if not _has(settings, "results"):
            return []
        return con.execute(
            f"SELECT rule_key, any_value(severity), sum(failed), sum(checked) FROM "
            f"read_parquet('{_quality(settings, 'results')}', union_by_name=true) WHERE failed > 0 "
            "AND batch_id IN (SELECT batch_id FROM counted) "
            f"GROUP BY rule_key ORDER BY 3 DESC, 1 LIMIT {int(most)}"
        ).fetchall()
    finally:
        if own:
            con.close()


def _failing_rules(settings: Settings, con: duckdb.DuckDBPyConnection, known: dict) -> str:
    if not _has(settings, "results"):
        return ""
    top = failing_rules(settings, con)
    html = [
        "<h2>Rules that fail most</h2><table><tr><th>rule</th><th>severity</th><th>failed</th><th>checked</th>"
        "<th>sample rows (masked)</th></tr>"
    ]
    samples: dict[str, list] = {}
    for kind in ("quarantine", "findings"):
        if _has(settings, kind):
            for rule, record in con.execute(
                f"SELECT rule_key, record FROM (SELECT rule_key, record, row_number() OVER (PARTITION BY rule_key) n "
                f"FROM read_parquet('{_quality(settings, kind)}', union_by_name=true)) WHERE n <= 3"
            ).fetchall():
                samples.setdefault(rule, []).append(record)
    for rule, severity, failed, checked in top:
        dataset = rule.split("__")[0]
        fields = known[dataset].fields if dataset in known else {}
        shown = "<br>".join(
            escape(json.dumps(mask_record(json.loads(r), fields), ensure_ascii=False)) for r in samples.get(rule, [])
        )
        html.append(
            f"<tr><td><code>{escape(rule)}</code></td><td>{escape(severity)}</td>"
            f"<td class='num'>{failed:,}</td><td class='num'>{checked:,}</td><td>{shown}</td></tr>"
        )
    return "".join(html) + "</table>"


def write_report(settings: Settings, out: Path | None = None) -> Path:
    target = out or settings.data_dir / "reports" / "quality.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(settings), encoding="utf-8")
    return target

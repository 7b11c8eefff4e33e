"""Splink's match-weights and m/u charts of a trained model, drawn as inline SVG.

Splink draws them with Vega-Lite from a CDN; auditors open the report on isolated networks, so the
same figures (each level's match weight log2(m/u), and its m and u) are drawn here from the model JSON
the lake keeps per run: nothing is fetched, no script runs.
"""

from __future__ import annotations

import math
from html import escape

ROW, LABEL, WIDTH = 18, 300, 300


def _levels(model: dict) -> list[tuple[str, str, float, float]]:
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            rows.append(
                (
                    comparison["output_column_name"],
                    level.get("label_for_charts", ""),
                    float(level.get("m_probability") or 0),
                    float(level.get("u_probability") or 0),
                )
            )
    return rows


def _svg(title: str, body: list[str], rows: int) -> str:
    height = 40 + rows * ROW
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{LABEL + 2 * WIDTH + 60}' height='{height}' role='img' "
        f"aria-label='{escape(title)}'><rect width='100%' height='100%' fill='#fbfcfd'/>"
        f"<text x='4' y='16' font-size='12' font-weight='600'>{escape(title)}</text>" + "".join(body) + "</svg>"
    )


def match_weights_svg(model: dict) -> str:
    """Each level's partial match weight (bits), bars left (against) or right (for) of zero."""
    rows = _levels(model)
    weights = [math.log2(m / u) if m > 0 and u > 0 else 0.0 for _, _, m, u in rows]
    top = max([1.0, *map(abs, weights)])
    zero = LABEL + WIDTH
    body = [f"<line x1='{zero}' x2='{zero}' y1='24' y2='{30 + len(rows) * ROW}' stroke='#999'/>"]
    for i, ((field, label, _, _), w) in enumerate(zip(rows, weights)):
        y = 30 + i * ROW
        size = WIDTH * abs(w) / top
        x = zero if w >= 0 else zero - size
        colour = "#2ca02c" if w >= 0 else "#d62728"
        body.append(f"<text x='4' y='{y + 12}' font-size='11'>{escape(field)}: {escape(label)}</text>")
        body.append(f"<rect x='{x:.1f}' y='{y + 2}' width='{size:.1f}' height='{ROW - 5}' fill='{colour}'/>")
        body.append(f"<text x='{zero + WIDTH + 6}' y='{y + 12}' font-size='11'>{w:+.1f}</text>")
    prior = model.get("probability_two_random_records_match")
    if prior:
        body.append(
            f"<text x='{LABEL}' y='16' font-size='11'>prior: log2 of the odds two random records match = "
            f"{math.log2(prior / (1 - prior)):+.1f}</text>"
        )
    return _svg("match weights per comparison level (bits)", body, len(rows))


def m_u_svg(model: dict) -> str:
    """Each level's m (share among matches, left) and u (share among non-matches, right)."""
    rows = _levels(model)
    body = [
        f"<text x='{LABEL}' y='30' font-size='11'>m (matches)</text>",
        f"<text x='{LABEL + WIDTH + 20}' y='30' font-size='11'>u (non-matches)</text>",
    ]
    for i, (field, label, m, u) in enumerate(rows):
        y = 36 + i * ROW
        body.append(f"<text x='4' y='{y + 12}' font-size='11'>{escape(field)}: {escape(label)}</text>")
        body.append(f"<rect x='{LABEL}' y='{y + 2}' width='{WIDTH * m:.1f}' height='{ROW - 5}' fill='#1f77b4'/>")
        body.append(
            f"<rect x='{LABEL + WIDTH + 20}' y='{y + 2}' width='{WIDTH * u:.1f}' height='{ROW - 5}' fill='#ff7f0e'/>"
        )
    return _svg("m and u probabilities per comparison level", body, len(rows) + 1)


def report_section(settings) -> str:
    """The auditor report's linkage section: the last runs and the newest model's charts ('' if none)."""
    from warehouse import lake

    if (
        not settings.lake_catalog.startswith("ducklake:postgres:")
        and not (settings.warehouse_dir / "catalog.ducklake").exists()
    ):
        return ""
    con = lake.connect(settings, read_only=True)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'linkage'"
            ).fetchall()
        }
        if "models" not in tables:
            return ""
        runs = con.execute(
            "SELECT run_id, mode, ran_at, records, linked, candidate_pairs, pairs, persons, seconds FROM linkage.runs "
            "ORDER BY ran_at DESC LIMIT 5"
        ).fetchall()
        model = con.execute("SELECT run_id, model FROM linkage.models ORDER BY trained_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    import json

    html = [
        "<h2>Cross-department identity (linkage)</h2><table><tr><th>run</th><th>mode</th><th>records</th>"
        "<th>linked</th><th>candidate pairs</th><th>pairs</th><th>persons</th><th>seconds</th></tr>"
    ]
    for run_id, mode, _, records, linked, candidates, pairs, persons, seconds in runs:
        html.append(
            f"<tr><td><code>{escape(run_id)}</code></td><td>{escape(mode)}</td><td class='num'>{records:,}</td>"
            f"<td class='num'>{linked:,}</td><td class='num'>{candidates:,}</td><td class='num'>{pairs:,}</td>"
            f"<td class='num'>{persons:,}</td><td class='num'>{seconds:.1f}</td></tr>"
        )
    trained = json.loads(model[1])
    html.append(f"</table><p class='note'>Model trained in run <code>{escape(model[0])}</code> (splink EM).</p>")
    return "".join(html) + match_weights_svg(trained) + "<br>" + m_u_svg(trained)

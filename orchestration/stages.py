"""What the DAG tasks decide for themselves: which interval to extract, and whether data is fresh enough.

Kept apart from the factory so that neither needs Airflow to be tested and the factory stays a
description of the DAGs.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from orchestration.notify import send
from xgate.errors import ConfigError
from xgate.settings import Settings

if TYPE_CHECKING:
    from contracts.validate import Outcome


def _instant(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"param {name}={value!r} is not an ISO date or time") from None


def extract_args(
    params: dict, dag_run: object, interval_start: datetime | None
) -> tuple[str, datetime | None, datetime | None]:
    """(mode, since, until) for a run: ``since``/``until`` params or an Airflow backfill run give a backfill
    of that interval (the same as ``xgate sync --since --until``); otherwise the ``mode`` param."""
    since, until = params.get("since"), params.get("until")
    if since or until:
        if not (since and until):
            raise ConfigError("a backfill needs both 'since' and 'until'")
        return "backfill", _instant(since, "since"), _instant(until, "until")
    run_type = getattr(dag_run, "run_type", "")
    if getattr(run_type, "value", run_type) == "backfill":  # the task SDK hands an enum (DagRunType.BACKFILL)
        interval_end = getattr(dag_run, "data_interval_end", None)
        if not (interval_start and interval_end and interval_start < interval_end):
            raise ConfigError(
                "this backfill run has no data interval (a cron preset schedules points in time, not "
                "intervals): trigger the DAG with the 'since' and 'until' params instead"
            )
        return "backfill", interval_start, interval_end
    return params.get("mode") or "incremental", None, None


def report_held(outcome: Outcome | None) -> None:
    """A batch held in quarantine as a whole lands nothing yet fails no task: notify, so someone looks."""
    if outcome and outcome.held:
        send(
            "batch_held",
            f"{outcome.dataset}: batch {outcome.batch_id} ({outcome.rows_in:,} rows) held: {outcome.held}",
            dataset=outcome.dataset,
            batch_id=outcome.batch_id,
            rows_in=outcome.rows_in,
            reason=outcome.held,
        )


def report_rejected(summary: dict) -> None:
    """A dropped file rejected whole lands nothing: notify, so the department is asked for a good one."""
    if summary.get("rejected"):
        send(
            "file_rejected",
            f"{summary['source']}.{summary['stream']}: batch {summary['batch_id']} rejected: {summary['rejected']}",
            batch_id=summary["batch_id"],
            reason=summary["rejected"],
        )


def check_freshness(settings: Settings, datasets: list[str]) -> list[dict]:
    """The newest record of each dataset against its contract's SLA; a miss is notified, not raised
    (the data that did land is good: failing the run would hide that)."""
    from connectors.records import parse_offset
    from warehouse import lake
    from warehouse.freshness import freshness

    con = lake.connect(settings, read_only=True)
    try:
        found = freshness(con, datasets, parse_offset(settings.source_timezone))
    finally:
        con.close()
    report = []
    for f in found:
        entry = {"dataset": f.dataset, "newest": f.newest and f.newest.isoformat(), "age_hours": f.age_hours}
        report.append(entry | {"sla_hours": f.sla_hours, "ok": f.ok})
        if not f.ok:
            age = "no records" if f.age_hours is None else f"newest record {f.age_hours:,.1f} h old"
            send("freshness_missed", f"{f.dataset}: {age}, SLA {f.sla_hours:,.0f} h", **entry)
    return report

"""What the DAG tasks decide for themselves: which interval to extract, and whether data is fresh enough.

Kept apart from the factory so that neither needs Airflow to be tested and the factory stays a
description of the DAGs.
"""

from __future__ import annotations

from datetime import datetime

from orchestration.notify import send
from xgate.errors import ConfigError
from xgate.settings import Settings


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
    if str(getattr(dag_run, "run_type", "")) in ("backfill", "DagRunType.BACKFILL_JOB"):
        return "backfill", interval_start, getattr(dag_run, "data_interval_end", None)
    return params.get("mode") or "incremental", None, None


def check_freshness(settings: Settings, datasets: list[str]) -> list[dict]:
    """The newest record of each dataset against its contract's SLA; a miss is notified, not raised
    (the data that did land is good: failing the run would hide that)."""
    from warehouse import lake
    from warehouse.freshness import freshness

    con = lake.connect(settings, read_only=True)
    try:
        found = freshness(con, datasets)
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

"""The DAG factory: one sync DAG per declared source, and one DAG that refreshes the shared views.

The DAG of a source comes from its declaration alone: ``dags/xgate_sources.py`` asks
:func:`declared_dags` for one DAG per ``connectors/sources/<name>.yaml``, so a new source needs no DAG
file. Each declaration is read on its own: a broken one (or one without contracts) becomes a DAG whose
only task fails at once with the reason, and every other source's DAG is untouched. Parsing reads only
YAML: no database, no network, no pyarrow, DuckDB or Great Expectations (task bodies import the
stages when they run). Tasks hand each other batch ids, never data; the stages are ``xgate sync``'s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import (
    Asset,
    AssetAny,
    BaseNotifier,
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
    dag,
    task,
)

from connectors.declarations import SOURCES_DIR
from connectors.declarations import source as declared_source
from contracts.loader import datasets_by_stream
from orchestration.home import WRITER_POOL
from orchestration.notify import send
from orchestration.stages import check_freshness, extract_args, report_held, report_rejected
from xgate.errors import ConfigError, FatalError
from xgate.settings import Settings, get_settings

START = datetime(2026, 1, 1, tzinfo=UTC)
SUMMARY = "summary"  # XCom key of what a land task did (rows extracted, landed, quarantined)
# What a person must fix fails at once: a wrong declaration, contract or setting, credentials or a path
# the source refuses (401, 403, 404). Anything else (a source down, 429, 5xx, timeouts) is retried.
RETRY_POLICY = ExceptionRetryPolicy(
    [
        RetryRule(
            FatalError,
            RetryAction.FAIL,
            reason="a declaration, setting or credential is wrong, or the source refuses: fix it, then rerun",
        )
    ]
)


class SyncFailed(BaseNotifier):
    """``on_failure_callback`` of every xgate task: the DAG, task, try and the cause."""

    def notify(self, context: dict) -> None:
        ti = context["ti"]
        cause = context.get("exception")
        send(
            "sync_failed",
            f"{ti.dag_id}.{ti.task_id} failed on try {ti.try_number}: {cause}",
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
            cause=str(cause) if cause else None,
        )


def table_asset(dataset: str) -> Asset:
    """The warehouse table a dataset lands in (``raw.civil_residents``), as an Airflow asset."""
    table = dataset.replace(".", "_")
    return Asset(name=f"raw.{table}", uri=f"ducklake://xgate/raw/{table}", group="warehouse")


def lake_pool(settings: Settings) -> str | None:
    """One lake task at a time on a catalog file (DuckDB or SQLite); none on a PostgreSQL catalog."""
    return None if (settings.catalog_url or "").startswith("ducklake:postgres:") else WRITER_POOL


def source_dag(name: str):
    """``xgate_<name>``: extract -> validate -> land per stream (mapped), then publish and check freshness."""
    settings = get_settings()
    source = declared_source(name, settings.sources_dir)
    index = datasets_by_stream()
    missing = [s.name for s in source.streams if f"{name}.{s.name}" not in index]
    if missing:
        raise ConfigError(f"source {name!r}: no contract for stream(s) {', '.join(missing)} in contracts/datasets/")
    datasets = [index[f"{name}.{s.name}"] for s in source.streams]
    pool = lake_pool(settings)

    @dag(
        dag_id=f"xgate_{name}",
        description=source.description,
        schedule=source.schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["xgate", "sync", source.department, source.kind],
        params={
            "mode": Param("incremental", enum=["incremental", "full"], description="full re-reads everything"),
            "since": Param(None, type=["null", "string"], description="backfill from (ISO time)"),
            "until": Param(None, type=["null", "string"], description="backfill up to, excluding (ISO time)"),
        },
        default_args={
            "owner": source.owner,
            "retries": source.retries,
            "retry_delay": source.retry_delay,
            "retry_exponential_backoff": 2.0,
            "max_retry_delay": timedelta(hours=1),
            "retry_policy": RETRY_POLICY,
            "on_failure_callback": SyncFailed(),
        },
        doc_md=f"Sync of `{name}` ({source.department}, {source.kind}): streams "
        f"{', '.join(s.name for s in source.streams)}. Declared in `connectors/sources/{name}.yaml`.",
    )
    def sync():
        @task(map_index_template="{{ stream }}")
        def extract(stream: str, params: dict | None = None, dag_run=None, data_interval_start=None) -> list[str]:
            """A file drop stages one batch per file (one bad file holds only itself): the stream's batch ids."""
            from connectors import extract as run_extract

            mode, since, until = extract_args(params or {}, dag_run, data_interval_start)
            return [b.batch_id for b in run_extract(get_settings(), name, stream, mode, since, until)]

        @task
        def validate(batch_ids: list[str]) -> list[str]:
            from warehouse.sync import validate as run_validate

            for batch_id in batch_ids:
                report_held(run_validate(get_settings(), batch_id))
            return batch_ids

        @task(pool=pool, outlets=[table_asset(d) for d in datasets])
        def land(batch_ids: list[str], ti=None) -> None:
            """Skipped when nothing was extracted: the table did not change, so no asset event fires. A
            rejected file is recorded and notified (the other files of the stream still land)."""
            from airflow.sdk.exceptions import AirflowSkipException

            from warehouse.sync import land_batch

            summaries = [land_batch(get_settings(), batch_id).as_dict() for batch_id in batch_ids]
            for summary in summaries:
                report_rejected(summary)
            ti.xcom_push(key=SUMMARY, value=summaries)
            if not any(summary["extracted"] for summary in summaries):
                raise AirflowSkipException(f"{name}: nothing new")

        @task(pool=pool, trigger_rule="none_failed")
        def publish(landed: list[None]) -> list[str]:
            from warehouse.sync import publish_views

            return publish_views(get_settings(), datasets, shared=False)

        @task(pool=pool)
        def freshness() -> list[dict]:
            return check_freshness(get_settings(), datasets)

        staged = extract.expand(stream=[s.name for s in source.streams])
        landed = land.expand(batch_ids=validate.expand(batch_ids=staged))
        publish(landed) >> freshness()

    return sync()


def broken_dag(name: str, error: str):
    """``xgate_<name>`` for a declaration that cannot be used: one task that fails at once with the reason,
    daily, so the failure is notified and seen in the UI, while every other source keeps running."""

    @dag(
        dag_id=f"xgate_{name}",
        description=f"broken declaration: {error}"[:200],
        schedule="@daily",
        start_date=START,
        catchup=False,
        tags=["xgate", "sync", "broken"],
        default_args={
            "owner": "data-engineering",
            "retries": 2,
            "retry_policy": RETRY_POLICY,
            "on_failure_callback": SyncFailed(),
        },
    )
    def broken():
        @task
        def declaration() -> None:
            raise ConfigError(error)

        declaration()

    return broken()


def declared_dags() -> dict[str, object]:
    """One DAG per source declaration, by DAG id (what ``dags/xgate_sources.py`` publishes). With a bad
    setting every one of them fails at once with it (named, never its value): no import error, no secret."""
    try:
        folder = get_settings().sources_dir or SOURCES_DIR
    except ConfigError as exc:
        return {f"xgate_{p.stem}": broken_dag(p.stem, str(exc)) for p in sorted(SOURCES_DIR.glob("*.yaml"))}
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            built = source_dag(path.stem)
        except ConfigError as exc:
            built = broken_dag(path.stem, str(exc))
        found[built.dag_id] = built
    return found


def shared_dag():
    """``xgate_shared``: link the person records, republish the cross-department views and the auditor report
    when a table changes."""
    settings = get_settings()
    assets = [table_asset(d) for d in sorted(set(datasets_by_stream().values()))]
    pool = lake_pool(settings)

    @dag(
        dag_id="xgate_shared",
        description="Person linkage, cross-department views (person, phone, address, discrepancies), quality report",
        schedule=AssetAny(*assets),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["xgate", "shared", "report"],
        default_args={"owner": "data-engineering", "retries": 2, "on_failure_callback": SyncFailed()},
    )
    def shared():
        @task(pool=pool)
        def link() -> dict:
            """Link the person records that landed (incremental once a model exists)."""
            from linkage.lake import link_lake
            from warehouse import lake

            con = lake.connect(get_settings())
            try:
                return link_lake(con).as_dict()
            finally:
                con.close()

        @task(pool=pool)
        def publish(linked: dict) -> list[str]:
            from warehouse.sync import publish_views

            return publish_views(get_settings(), datasets=(), shared=True)

        @task
        def report(views: list[str]) -> str:
            from contracts.report import write_report

            return str(write_report(get_settings()))

        report(publish(link()))

    return shared()

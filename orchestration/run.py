"""Run a DAG once, in this process, through Airflow (``dag.test``): what ``make demo`` and the tests use.

Every task runs as Airflow runs it (retries, pools ignored, XComs, asset events), without a scheduler
or workers; the start-up (about 5 s) is paid once per process. Call :func:`orchestration.home.prepare`
first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orchestration.home import DAGS_DIR


@dataclass
class DagRunResult:
    dag_id: str
    state: str
    landed: list[dict] = field(default_factory=list)  # what each stream's land task returned
    failed: dict[str, str] = field(default_factory=dict)  # task (and map index) -> state
    tries: dict[str, int] = field(default_factory=dict)  # task (and map index) -> tries it took

    @property
    def ok(self) -> bool:
        return self.state == "success"


def load_dag(dag_id: str):
    """Parse the DAG's file now (with the current settings), like the DAG processor would: the shared
    views' own file, or the one that builds every source's DAG from its declaration."""
    from airflow.dag_processing.dagbag import DagBag

    file = "xgate_shared.py" if dag_id == "xgate_shared" else "xgate_sources.py"
    bag = DagBag(dag_folder=str(DAGS_DIR / file))
    if dag_id not in bag.dags:
        raise KeyError(f"no DAG {dag_id!r} in {DAGS_DIR}: {bag.import_errors or 'no such file'}")
    return bag.dags[dag_id]


def run_dag(dag_id: str, conf: dict | None = None, logical_date: datetime | None = None) -> DagRunResult:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from orchestration.factory import SUMMARY

    run = load_dag(dag_id).test(run_conf=conf, **({"logical_date": logical_date} if logical_date else {}))
    with create_session() as session:
        instances = run.get_task_instances(session=session)
        name = {ti: f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id for ti in instances}
        failed = {
            name[ti]: str(ti.state)
            for ti in instances
            if str(ti.state) not in ("success", "skipped", "TaskInstanceState.SUCCESS", "TaskInstanceState.SKIPPED")
        }
        tries = {name[ti]: ti.try_number for ti in instances if ti.try_number}
        rows = session.scalars(
            XComModel.get_many(run_id=run.run_id, key=SUMMARY, dag_ids=dag_id, task_ids="land")
        ).all()
        values = [XComModel.deserialize_value(r) for r in rows]
        landed = [s for v in values for s in (v if isinstance(v, list) else [v])]  # a land task: one per batch
    return DagRunResult(dag_id, str(run.state), landed, failed, tries)

"""The DAG folder: imports cleanly, one DAG per declared source, the designed task structure."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from connectors import sources
from connectors.declarations import SOURCES_DIR
from contracts.loader import datasets_by_stream
from orchestration.home import DAGS_DIR, WRITER_POOL
from xgate.errors import ConfigError
from xgate.settings import reset_settings

SYNC_TASKS = {"extract", "validate", "land", "publish", "freshness"}


@pytest.fixture(scope="module")
def bag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_the_dag_folder_imports_without_errors(bag) -> None:
    assert bag.import_errors == {}


def test_one_dag_per_declared_source_and_one_for_the_shared_views(bag) -> None:
    assert set(bag.dags) == {f"xgate_{name}" for name in sources()} | {"xgate_shared"}


def test_every_dag_has_an_owner_tags_and_retries(bag) -> None:
    for dag in bag.dags.values():
        assert dag.tags and "xgate" in dag.tags, dag.dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag.dag_id, task.task_id)
            assert task.retries >= 2, (dag.dag_id, task.task_id)


def test_sync_dags_chain_the_stages_and_map_over_streams(bag) -> None:
    for name, source in sources().items():
        dag = bag.dags[f"xgate_{name}"]
        assert dag.schedule == source.schedule, name
        assert set(dag.task_ids) == SYNC_TASKS
        downstream = {t.task_id: t.downstream_task_ids for t in dag.tasks}
        assert downstream == {
            "extract": {"validate"},
            "validate": {"land"},
            "land": {"publish"},
            "publish": {"freshness"},
            "freshness": set(),
        }
        mapped = dag.get_task("extract")
        assert mapped.op_kwargs_expand_input.value["stream"] == [s.name for s in source.streams]
        land = dag.get_task("land")
        index = datasets_by_stream()
        assert {a.name for a in land.outlets} == {
            "raw." + index[f"{name}.{s.name}"].replace(".", "_") for s in source.streams
        }
        assert {dag.get_task(t).pool for t in ("land", "publish", "freshness")} == {WRITER_POOL}
        assert dag.get_task("extract").pool != WRITER_POOL  # reading sources runs in parallel


def test_the_shared_dag_runs_when_any_warehouse_table_changes(bag) -> None:
    dag = bag.dags["xgate_shared"]
    expected = {"raw." + d.replace(".", "_") for d in datasets_by_stream().values()}
    assert {a.name for a in dag.timetable.asset_condition.objects} == expected
    assert set(dag.task_ids) == {"link", "publish", "report"}  # re-link people, then views, then the report


def test_a_broken_declaration_breaks_only_its_own_dag(airflow_home, monkeypatch, tmp_path) -> None:
    from orchestration.factory import declared_dags

    shutil.copytree(SOURCES_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "telecom.yaml").write_text("name: telecom\nkind: ftp\n")
    (tmp_path / "nocontract.yaml").write_text(
        "name: nocontract\nkind: rest\ndepartment: d\nconnection: c\nstreams: [{name: s, path: /s, cursor_field: t}]\n"
    )
    monkeypatch.setenv("XGATE_SOURCES_DIR", str(tmp_path))
    reset_settings()
    dags = declared_dags()
    assert set(dags) == {f"xgate_{p.stem}" for p in tmp_path.glob("*.yaml")}  # one per declaration, no file each
    assert set(dags["xgate_civil"].task_ids) == SYNC_TASKS
    for broken, reason in (("xgate_telecom", r"telecom\.yaml.*kind"), ("xgate_nocontract", "no contract")):
        dag = dags[broken]
        assert "broken" in dag.tags and dag.task_ids == ["declaration"]
        with pytest.raises(ConfigError, match=reason):  # the task fails at once (fatal: no retry), saying why
            dag.get_task("declaration").python_callable()


def test_a_postgresql_catalog_lifts_the_one_writer_pool(airflow_home, monkeypatch) -> None:
    from orchestration.factory import source_dag

    monkeypatch.setenv("XGATE_CATALOG_URL", "ducklake:postgres:dbname=lake host=127.0.0.1")
    dag = source_dag("telecom")
    assert WRITER_POOL not in {t.pool for t in dag.tasks}


def test_a_broken_dag_file_breaks_only_itself(airflow_home, tmp_path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path / "dags"
    shutil.copytree(DAGS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "xgate_broken.py").write_text(
        '"""Airflow DAG"""\nfrom orchestration.factory import source_dag\n\ndag = source_dag("nope")\n'
    )
    (folder / "xgate_syntax.py").write_text('"""Airflow DAG"""\ndag = (\n')
    bag = DagBag(dag_folder=str(folder))
    assert {p.rsplit("/", 1)[-1] for p in bag.import_errors} == {"xgate_broken.py", "xgate_syntax.py"}
    assert "nope" in next(e for p, e in bag.import_errors.items() if p.endswith("xgate_broken.py"))
    assert set(bag.dags) == {f"xgate_{name}" for name in sources()} | {"xgate_shared"}


def test_parsing_the_dag_files_loads_no_data_library(airflow_home) -> None:
    """The DAG processor parses every file often: no DuckDB, pyarrow, GX or database driver at parse time."""
    probe = (
        "import runpy, sys; [runpy.run_path(f) for f in sys.argv[1:]]; "
        "print(','.join(m for m in ('duckdb', 'pyarrow', 'great_expectations', 'psycopg', 'pymysql', 'numpy', "
        "'connectors.runner', 'warehouse.sync', 'faker', 'fastapi', 'uvicorn') if m in sys.modules))"
    )
    files = [str(f) for f in sorted(DAGS_DIR.glob("xgate_*.py"))]
    out = subprocess.run([sys.executable, "-c", probe, *files], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout

"""The Airflow home xgate runs in: configuration for a small machine, the metadata database, the pool.

Airflow reads its configuration once, when it is first imported, so :func:`prepare` must run before
anything imports ``airflow``. Every value here is a default: an ``AIRFLOW__*`` variable already set
(a PostgreSQL metadata database, CeleryExecutor, more parallelism in production) wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from xgate.settings import Settings

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
WRITER_POOL = "warehouse_writer"


def airflow_env(settings: Settings) -> dict[str, str]:
    """``AIRFLOW_HOME`` under the data directory, xgate's DAG folder, limits for a 2-core machine."""
    home = (settings.data_dir / "airflow").resolve()
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",  # the default 32 worker processes need ~5 GB
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "3",
        "AIRFLOW__API__PORT": port,
        "AIRFLOW__API__HOST": "127.0.0.1",  # the UI and the workers' execution API: this machine only
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",  # where workers report
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "10",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    return {name: os.environ.get(name, value) for name, value in defaults.items()}


def prepare(settings: Settings) -> Path:
    """Set Airflow's environment, migrate its metadata database and create the lake writers' pool."""
    os.environ.update(airflow_env(settings))
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    import logging

    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)  # 200 INFO lines otherwise
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.upgradedb()
    Pool.create_or_update_pool(
        WRITER_POOL, 1, "one writer at a time on a DuckLake catalog file (unused with a PostgreSQL catalog)", False
    )
    return home

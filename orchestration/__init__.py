"""Airflow orchestration of xgate: the DAG factory, the tasks' decisions, notifications, the Airflow home.

DAG files in ``dags/`` are two lines that call :mod:`orchestration.factory`; everything a task does is
an xgate stage (:mod:`warehouse.sync`), the same one ``xgate sync`` runs.
"""

import os

os.umask(0o077)  # as in the CLI: the lake, state and staging files the tasks write are the service's alone

"""Airflow DAG `xgate_health`: Patients, encounters and immunizations of the health commission.

Generated from connectors/sources/health.yaml by orchestration.factory; edit the declaration, not this file.
"""

from orchestration.factory import source_dag

dag = source_dag("health")

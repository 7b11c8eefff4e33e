"""Airflow DAG `xgate_shared`: person linkage, the cross-department views and the quality report.

Runs whenever a sync DAG lands a warehouse table (Airflow assets); built by orchestration.factory.
"""

from orchestration.factory import shared_dag

dag = shared_dag()

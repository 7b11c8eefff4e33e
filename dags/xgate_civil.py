"""Airflow DAG `xgate_civil`: Household registration, marriages and deaths of civil affairs.

Generated from connectors/sources/civil.yaml by orchestration.factory; edit the declaration, not this file.
"""

from orchestration.factory import source_dag

dag = source_dag("civil")

"""Airflow DAG `xgate_housing`: Property registrations and rental filings of the housing department.

Generated from connectors/sources/housing.yaml by orchestration.factory; edit the declaration, not this file.
"""

from orchestration.factory import source_dag

dag = source_dag("housing")

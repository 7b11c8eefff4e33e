"""Airflow DAG `xgate_telecom`: Subscriber real-name registrations of the telecom operators.

Generated from connectors/sources/telecom.yaml by orchestration.factory; edit the declaration, not this file.
"""

from orchestration.factory import source_dag

dag = source_dag("telecom")

"""Airflow DAGs `xgate_<source>`: one per declaration in connectors/sources/ (or XGATE_SOURCES_DIR).

Built by orchestration.factory from the declarations alone: adding a source adds its DAG, with no file
here. A declaration that cannot be used becomes a DAG that fails at once with the reason.
"""

from orchestration.factory import declared_dags

globals().update(declared_dags())

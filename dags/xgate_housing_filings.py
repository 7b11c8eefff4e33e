"""Airflow DAG `xgate_housing_filings`: Rental filings collected by sub-district offices, sent as spreadsheets.

Generated from connectors/sources/housing_filings.yaml by orchestration.factory; edit the declaration, not this file.
"""

from orchestration.factory import source_dag

dag = source_dag("housing_filings")

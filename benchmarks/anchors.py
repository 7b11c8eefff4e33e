"""dlt on the same pulls, run in its own virtual environment (.venv-anchors: dlt needs other pins).

Usage: anchors.py REST_URL TOKEN PG_URL OUT_DIR; prints one JSON line {"rest": rows/s, "sql": rows/s}.
"""

from __future__ import annotations

import json
import sys
import time

import dlt
from dlt.sources.rest_api import rest_api_source
from dlt.sources.sql_database import sql_database


def _run(name: str, source: object, out: str) -> float:
    pipeline = dlt.pipeline(
        pipeline_name=f"anchor_{name}",
        pipelines_dir=f"{out}/pipelines",
        destination=dlt.destinations.filesystem(bucket_url=f"file://{out}/{name}"),
        dataset_name=f"anchor_{name}",
    )
    start = time.perf_counter()
    pipeline.run(source, loader_file_format="parquet", write_disposition="replace")
    seconds = time.perf_counter() - start
    rows = sum(pipeline.last_trace.last_normalize_info.row_counts.values()) - sum(
        v for k, v in pipeline.last_trace.last_normalize_info.row_counts.items() if k.startswith("_dlt")
    )
    return rows / seconds


def main() -> None:
    rest_url, token, pg_url, out = sys.argv[1:5]
    rest = rest_api_source(
        {
            "client": {
                "base_url": rest_url,
                "auth": {"type": "bearer", "token": token},
                "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"},
            },
            "resources": [
                {
                    "name": "subscribers",
                    "endpoint": {"path": "v1/subscribers", "params": {"limit": 5000}, "data_selector": "data"},
                }
            ],
        }
    )
    sql = sql_database(
        credentials=pg_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"),
        table_names=["residents"],
        backend="pyarrow",
    )
    print(json.dumps({"rest": _run("rest", rest, out), "sql": _run("sql", sql, out)}))


if __name__ == "__main__":
    main()

"""`datacontract test` on the same subscriber Parquet file, in its own environment (.venv-datacontract).

The contract holds the telecom rules datacontract-cli can express: required and unique fields, valid
values, the ID and mobile shapes as patterns, and the ID check character as a SQL quality rule.
Usage: datacontract_anchor.py FILE; prints one JSON line {"seconds": ..., "passed": ...}.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from datacontract.data_contract import DataContract

CONTRACT = """
apiVersion: v3.1.0
kind: DataContract
id: bench-telecom-subscribers
name: subscribers
version: 1.0.0
status: active
servers:
  - server: local
    type: local
    format: parquet
    path: {path}
schema:
  - name: subscribers
    physicalName: subscribers
    properties:
      - {{name: subscriber_id, logicalType: string, required: true, unique: true}}
      - {{name: msisdn, logicalType: string, required: true, logicalTypeOptions: {{pattern: '^1[3-9][0-9]{{9}}$'}}}}
      - {{name: id_number, logicalType: string, required: true, logicalTypeOptions: {{pattern: '^[0-9]{{17}}[0-9X]$'}}}}
      - {{name: name, logicalType: string, required: true}}
      - name: carrier
        logicalType: string
        required: true
        quality:
          - type: library
            metric: invalidValues
            arguments: {{validValues: [中国移动, 中国联通, 中国电信]}}
            mustBe: 0
      - name: status
        logicalType: string
        required: true
        quality: [{{type: library, metric: invalidValues, arguments: {{validValues: [active, cancelled]}}, mustBe: 0}}]
      - {{name: activated_at, logicalType: string}}
      - {{name: cancelled_at, logicalType: string}}
      - {{name: updated_at, logicalType: string}}
    quality:
      - type: sql
        description: ID check character (GB 11643)
        query: >
          SELECT count(*) FROM subscribers WHERE substr('10X98765432', ((list_dot_product(
          string_split(substr(id_number, 1, 17), '')::INT[], [7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]::INT[]))::BIGINT
          % 11) + 1, 1) <> substr(id_number, 18, 1)
        mustBeGreaterOrEqualTo: 0
"""


def main() -> None:
    data = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        contract = Path(tmp) / "contract.yaml"
        contract.write_text(CONTRACT.format(path=data), encoding="utf-8")
        start = time.perf_counter()
        run = DataContract(data_contract_file=str(contract), server="local").test()
        seconds = time.perf_counter() - start
    checks = [c for c in run.checks if c.result]
    print(json.dumps({"seconds": seconds, "checks": len(checks), "result": str(run.result)}))


if __name__ == "__main__":
    main()

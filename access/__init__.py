"""The access layer: the only way people read the shared store, masked by contract and audited.

``users`` (who, which role), ``sqlcheck`` (what SQL may run at all), ``policy`` (each column's contract
origins, from lineage), ``plan`` (qualify, trace, mask at the scan), ``reader`` (run locked down, mask,
audit), ``lookups`` (person / address / phone), ``grants`` (conditional sharing), ``audit`` and
``verify`` (the hash-chained read log), ``cli`` / ``cli_admin`` (the commands).
"""

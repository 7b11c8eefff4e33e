"""Stable person keys: a cluster keeps the key most of its records had, merges and splits are recorded.

A full run clusters every record anew; this maps the new clusters onto the keys of the previous run:
each old key goes to the cluster holding most of its records, and each cluster takes, among the old
keys that chose it, the one with most records (ties: the smaller key). A cluster that gained or lost
nothing therefore keeps its key. Clusters left without one get new keys after the largest ever issued.
History rows: ``merge`` (an old key's records joined another key and the old key is retired) and
``split`` (some of a key's records left it for another key, which is new or existing).
"""

from __future__ import annotations

import duckdb


def assign(con: duckdb.DuckDBPyConnection, clusters: str, previous: str, next_key: int) -> None:
    """Create temp tables ``_keys`` (``unique_id``, ``person_key``) and ``_history`` (``event``,
    ``person_key``, ``other_key``, ``records``) from ``clusters`` (``unique_id``, ``cluster``) and
    ``previous`` (``unique_id``, ``person_key``); new keys count from ``next_key``."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _overlap AS
        SELECT c.cluster, p.person_key, count(*) AS n FROM {clusters} c JOIN {previous} p USING (unique_id)
        GROUP BY ALL"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _kept AS
        WITH best AS (SELECT person_key, cluster, n FROM _overlap
                      QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY n DESC, cluster) = 1)
        SELECT cluster, person_key FROM best
        QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY n DESC, person_key) = 1"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cluster_key AS
        WITH all_clusters AS (SELECT DISTINCT cluster FROM {clusters})
        SELECT a.cluster, COALESCE(k.person_key,
          {int(next_key) - 1} + row_number() OVER (PARTITION BY k.person_key IS NULL ORDER BY a.cluster)) AS person_key
        FROM all_clusters a LEFT JOIN _kept k USING (cluster)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _keys AS
        SELECT c.unique_id, k.person_key FROM {clusters} c JOIN _cluster_key k USING (cluster)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _history AS
        WITH o AS (SELECT *, person_key IN (SELECT person_key FROM _kept) AS kept FROM _overlap)
        SELECT CASE WHEN o.kept THEN 'split' ELSE 'merge' END AS event,
          CASE WHEN o.kept THEN o.person_key ELSE k.person_key END AS person_key,
          CASE WHEN o.kept THEN k.person_key ELSE o.person_key END AS other_key,
          o.n AS records
        FROM o JOIN _cluster_key k USING (cluster) WHERE k.person_key <> o.person_key"""
    )

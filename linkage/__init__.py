"""Cross-department identity (数据碰撞): link one person's records across departments with splink.

A stage after landing: every person-bearing record of the lake (civil residents and deaths, telecom
subscribers, health patients, housing owners, tenants and filings) is cleaned into comparable features
(:mod:`linkage.features`), compared with a model made for Chinese data (:mod:`linkage.comparisons`),
scored and clustered by splink on DuckDB (:mod:`linkage.engine`), and each record gets a stable
``person_key`` (:mod:`linkage.keys`) written to the lake (:mod:`linkage.lake`). Outside lists are
collided with the same model by :mod:`linkage.files`.
"""

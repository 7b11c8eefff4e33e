"""Connectors: pull every department's data incrementally, resumably and safely into staging.

Public surface (everything else is internal):

- :func:`extract` one source (or one stream) -> staged batches with lineage;
- :func:`commit` a batch once the warehouse has landed it (moves the checkpoint, archives files);
- :func:`sources` the declared sources (``connectors/sources/*.yaml``).

The names resolve on first use, so reading a declaration (as Airflow does when it parses a DAG file)
does not load the clients, pyarrow or the database drivers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.declarations import source, sources
    from connectors.runner import BatchResult, commit, extract

_HOME = {
    "source": "declarations",
    "sources": "declarations",
    "BatchResult": "runner",
    "commit": "runner",
    "extract": "runner",
}


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'connectors' has no attribute {name!r}")
    return getattr(import_module(f"connectors.{_HOME[name]}"), name)


__all__ = ["BatchResult", "commit", "extract", "source", "sources"]

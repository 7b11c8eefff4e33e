"""Connectors: pull every department's data incrementally, resumably and safely into staging.

Public surface (everything else is internal):

- :func:`extract` one source (or one stream) -> staged batches with lineage;
- :func:`commit` a batch once the warehouse has landed it (moves the checkpoint, archives files);
- :func:`sources` the declared sources (``connectors/sources/*.yaml``).
"""

from connectors.declarations import source, sources
from connectors.runner import BatchResult, commit, extract

__all__ = ["BatchResult", "commit", "extract", "source", "sources"]

"""Data contracts: ODCS v3 YAML per dataset, compiled to engine-neutral checks, run with Great Expectations.

Public surface: :func:`contracts` / :func:`for_source` (the compiled contracts) and :func:`validate_batch`
(a staged connector batch); ``xgate validate`` checks a department's local export without storing anything.
Importing this package is cheap; Great Expectations loads on the first validation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.checks import Check, Contract, contracts, for_source

if TYPE_CHECKING:
    from contracts.validate import Outcome
from xgate.settings import Settings


def validate_batch(settings: Settings, batch_id: str, hold: bool = True) -> Outcome:
    """Validate a staged batch against its stream's contract; writes the split and the results (``hold``:
    see :func:`contracts.validate.validate`)."""
    from datetime import datetime

    from connectors import staging
    from contracts.validate import validate

    manifest = staging.batch_manifest(settings, batch_id)
    contract = for_source(manifest["source"], manifest["stream"])
    return validate(
        settings,
        contract,
        staging.batch_files(settings, batch_id),
        batch_id,
        extracted_at=datetime.fromisoformat(manifest["extracted_at"]),
        hold=hold,
    )


__all__ = ["Check", "Contract", "contracts", "for_source", "validate_batch"]

"""Conditional sharing: a case asks for a dataset's sensitive fields, an admin approves, it expires.

国发〔2016〕51号 conditional sharing needs an approved request; PIPL Art. 28 makes health data sensitive.
A grant belongs to a case (every investigator on it), names one contract dataset, and is valid from
its approval until ``expires_at``. Grants live in ``<access dir>/grants.json``, rewritten whole under
an exclusive lock; nothing deletes one (an expired grant stays, as the record of what was allowed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from access import store
from access.users import Refused, User
from xgate.settings import Settings

MAX_DAYS = 90


class Grant(BaseModel):
    id: str
    case: str
    dataset: str
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    expires_at: datetime | None = None

    def valid(self, now: datetime) -> bool:
        return (
            self.approved_at is not None and self.expires_at is not None and self.approved_at <= now < self.expires_at
        )


def _path(settings: Settings):
    return store.access_dir(settings) / "grants.json"


def _read(handle) -> list[Grant]:
    handle.seek(0)
    text = handle.read()
    return [Grant.model_validate(g) for g in json.loads(text)] if text.strip() else []


def _write(handle, grants: list[Grant]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps([g.model_dump(mode="json") for g in grants], ensure_ascii=False, indent=1))


def all_grants(settings: Settings) -> list[Grant]:
    if not _path(settings).exists():
        return []
    with store.locked(_path(settings)) as handle:
        return _read(handle)


def request(settings: Settings, user: User, case: str, dataset: str, reason: str, now: datetime | None = None) -> Grant:
    from access.policy import fields

    if dataset not in {d for d, _ in fields()}:
        raise Refused(f"no contract dataset {dataset!r}")
    with store.locked(_path(settings)) as handle:
        grants = _read(handle)
        grant = Grant(
            id=f"G{len(grants) + 1}",  # nothing is ever deleted, so the count is a sequence
            case=case,
            dataset=dataset,
            reason=reason,
            requested_by=user.name,
            requested_at=now or datetime.now(UTC),
        )
        _write(handle, [*grants, grant])
    return grant


def approve(settings: Settings, user: User, grant_id: str, days: int, now: datetime | None = None) -> Grant:
    if not 0 < days <= MAX_DAYS:
        raise Refused(f"a grant lasts 1 to {MAX_DAYS} days, not {days}")
    now = now or datetime.now(UTC)
    with store.locked(_path(settings)) as handle:
        grants = _read(handle)
        grant = next((g for g in grants if g.id == grant_id), None)
        if grant is None:
            raise Refused(f"no grant request {grant_id!r}")
        if grant.approved_at is not None:
            raise Refused(f"grant {grant_id} was already approved by {grant.approved_by}")
        grant.approved_by, grant.approved_at, grant.expires_at = user.name, now, now + timedelta(days=days)
        _write(handle, grants)
    return grant


def granted(settings: Settings, case: str, now: datetime | None = None) -> frozenset[str]:
    """Datasets whose sensitive fields this case may see now."""
    now = now or datetime.now(UTC)
    return frozenset(g.dataset for g in all_grants(settings) if g.case == case and g.valid(now))

"""One read through the access layer: authorise, plan, run locked down, mask, audit. Nothing else reads.

:class:`Reader` keeps one locked-down connection (the CLI makes one per call; a long-lived service or
the benchmark reuses it). Every call ends in exactly one audit record, allowed or refused: a refusal
is recorded before :class:`~access.users.Refused` reaches the caller. Plans for the investigators'
fixed schema are cached per (SQL, granted datasets), so a repeated lookup costs one DuckDB query, the
masking and one audit append.
"""

from __future__ import annotations

import hashlib

import duckdb

from access import audit, grants, plan, policy
from access.lookups import Call
from access.users import Refused, authorise
from contracts.masking import HIDDEN, mask_value
from warehouse import lake
from xgate.settings import Settings

LIMIT = 1000
NEEDS_CASE = ("person", "address", "phone", "query")
LOOKUPS = ("person", "address", "phone")
Section = tuple[list[str], list[tuple]]


def _show(value: object, level: int) -> object:
    return value if level == policy.CLEAR else HIDDEN if level == policy.HIDE else mask_value(value)


class Reader:
    def __init__(self, settings: Settings, as_of: int | None = None) -> None:
        self.settings, self.as_of = settings, as_of
        self._con: duckdb.DuckDBPyConnection | None = None
        self.snapshot: int | None = None
        self.unavailable: list[str] = []  # lookup sections whose views are not published (last read)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con, self.snapshot = lake.connect_locked(self.settings, self.as_of)
        return self._con

    def read(self, call: Call) -> dict[str, Section]:
        """The shown (masked) result of each section; refused calls raise after they are recorded."""
        entry = {
            "user": call.user.name,
            "role": call.user.role,
            "case": call.case,
            "purpose": call.purpose,
            "command": call.command,
            "query": call.text,
            "as_of": self.as_of,
        }
        named = {m.upper() for m in audit.ID_NUMBER.findall(call.text)}
        try:
            shown, facts = self._run(call)
        except Refused as exc:
            audit.append(self.settings, entry | self._subjects(named) | {"outcome": "refused", "reason": str(exc)})
            raise
        except Exception as exc:  # the lake unreachable, a bug: still one record, then the error itself
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            audit.append(self.settings, entry | self._subjects(named) | {"outcome": "failed", "reason": reason})
            raise
        digest = hashlib.sha256(audit.canonical({k: [c, r] for k, (c, r) in shown.items()})).hexdigest()
        facts["subjects"] = self._subjects(named | facts.pop("ids"))["subjects"]
        audit.append(self.settings, entry | facts | {"result_hash": digest, "outcome": "allowed"})
        return shown

    def _subjects(self, ids: set[str]) -> dict:
        return {"subjects": sorted(audit.subject_hash(self.settings, i) for i in ids)}

    def _run(self, call: Call) -> tuple[dict[str, Section], dict]:
        authorise(call.user, call.command)
        self.unavailable = []
        if call.command in NEEDS_CASE and not ((call.case or "").strip() and (call.purpose or "").strip()):
            raise Refused("every read needs a case number (--case) and a purpose (--purpose)")
        granted = grants.granted(self.settings, call.case) if call.case else frozenset()
        try:
            con = self._connection()
        except duckdb.Error as exc:
            raise Refused(f"the warehouse cannot be read: {str(exc).splitlines()[0]}") from None
        schema = plan.lake_schema(con) if call.command == "sql" else None
        shown: dict[str, Section] = {}
        facts: dict = {"snapshot": self.snapshot, "granted": sorted(granted), "fields": [], "datasets": [], "rows": 0}
        ids: set[str] = set()
        for section, (sql, params) in call.queries.items():
            try:
                planned = plan.build(sql, schema, granted) if schema is not None else plan.shared_plan(sql, granted)
            except Refused:
                raise
            except Exception as exc:  # fail closed: what cannot be checked does not run
                raise Refused(f"this query cannot be checked ({type(exc).__name__}); write it more simply") from None
            facts["fields"] += planned.fields
            facts["datasets"] += planned.datasets
            try:
                rows = con.execute(planned.sql, params).fetchmany(LIMIT)
            except duckdb.CatalogException as exc:
                if call.command not in LOOKUPS:
                    raise Refused(f"query failed: {str(exc).splitlines()[0][:200]}") from None
                self.unavailable.append(section)  # a view whose departments have not all landed yet
                continue
            except duckdb.Error as exc:
                raise Refused(f"query failed: {str(exc).splitlines()[0][:200]}") from None
            for i, is_subject in enumerate(planned.subjects):
                ids |= {str(row[i]).upper() for row in rows if is_subject and row[i] is not None}
            levels = planned.levels
            shown[section] = (list(planned.columns), [tuple(map(_show, row, levels)) for row in rows])
            facts["rows"] += len(rows)
        facts["fields"], facts["datasets"] = sorted(set(facts["fields"])), sorted(set(facts["datasets"]))
        if self.unavailable:
            facts["unavailable"] = list(self.unavailable)
        return shown, facts | {"ids": ids}

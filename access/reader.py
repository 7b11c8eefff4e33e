"""One read through the access layer: authorise, bind to a case, run masked, audit. Nothing else reads.

Every call ends in audit records and nothing escapes them: a refusal before anything runs is one record;
a read that runs is recorded as ``started`` first (with the persons it names) and then with its outcome
(rows, a hash of what was shown, the persons it showed), so a read killed half-way still left its trace.
Lookups run the fixed queries of :mod:`access.lookups` on a locked-down lake connection (the process
keeps it between look-ups: :func:`warehouse.lake.locked`), all sections of one in one transaction; free
SQL runs in :mod:`access.engine`, over masked copies and nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from access import audit, engine, grants, ledger, masked, plan, policy, probes
from access.lookups import Call, Part
from access.users import Refused, User, authorise
from contracts.masking import MASK_MACRO
from warehouse import lake
from xgate.errors import XgateError
from xgate.settings import Settings

NEEDS_CASE = ("person", "address", "phone", "query", "link file", "search", "record", "discrepancy")
LITERALS = re.compile(r"'((?:[^']|'')*)'|(?<![\w.])([0-9０-９]+)")


@dataclass
class Shown:
    sections: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # cut results, views not published yet


def named(text: str) -> set[str]:
    """IDs a call names, also when split across literals ('110105' || '19900101002X')."""
    literals = "".join(a or b for a, b in LITERALS.findall(text))
    return audit.named_ids(text, literals)


def context(settings: Settings, user: User, call: Call) -> masked.Context:
    """What this call may see, after the case checks: refuses a read outside the user's cases."""
    if call.command not in NEEDS_CASE:
        return masked.Context(sid_key=audit.subject_key(settings))
    if not ((call.case or "").strip() and (call.purpose or "").strip()):
        raise Refused("every read needs a case number (--case) and a purpose (--purpose)")
    state = ledger.state(settings)
    case = state.cases.get(call.case)
    if case is None:
        number = grants.case_number(call.case)  # one that may not be a case number is not repeated either
        raise Refused(f"case {number!r} is not open: 'xgate case open {number} --title ...' first")
    if user.name not in case.members:
        raise Refused(f"{user.name} is not on case {call.case}; a member of the case can add them")
    return masked.Context(
        state.granted(user.name, call.case),
        state.subjects(call.case, settings.subject_approval),
        audit.subject_key(settings),
    )


def _not_an_enumeration(settings: Settings, user: str, outside: pa.Table) -> None:
    """Refuse a list that guesses rather than names: more than a few distinct ID or phone numbers that a mask
    would show the same way (``510422********4055`` tried with every birth date of a year), or one name with
    several birth dates, in this list or counted with the user's earlier tries (:mod:`access.probes`), would
    turn the collision into a way to unmask. Counted on the list as the linker reads it (``outside``, its
    :func:`linkage.files.list_features`), so what is counted is what can match. The refusal is recorded."""
    numbers = [
        str(v) for role in ("id18", "phone", "other_id")
        for v in outside.column(role).to_pylist() if v and str(v).strip()
    ]  # fmt: skip
    probes.tried(settings, user, numbers)
    columns = (outside.column(c).to_pylist() for c in ("id18", "name_py", "birth_date"))
    probes.people(settings, user, (row[1:] for row in zip(*columns) if row[0] is None))  # rows matched by name


def _one_row_a_person(pairs: pa.Table) -> pa.Table:
    """The pairs, refused when several rows of the list meet one person of the lake (variants of one person
    tried side by side tell which is right: an oracle on what the masks hide)."""
    rows_of: dict[str, set[str]] = {}
    columns = (pairs.column(c).to_pylist() for c in ("key_l", "key_r", "person_key"))
    for left, right, person in zip(*columns):
        rows_of.setdefault(person or right, set()).add(left)
    if any(len(rows) > 1 for rows in rows_of.values()):
        raise Refused("several rows of the list match one person of the lake: a list names each person once")
    return pairs


def _rows_allowed(table: str, seen: masked.Context) -> None:
    """Refuse a relation whose rows tell a sensitive fact (who health reports dead) without its grant."""
    missing = policy.row_requires().get(table, frozenset()) - seen.granted
    if missing:
        raise Refused(f"{table} lists people by a sensitive fact of {', '.join(sorted(missing))}: "
                      "it needs your grant for that dataset in this case ('xgate grant request')")  # fmt: skip


class Reader:
    def __init__(self, settings: Settings, as_of: int | None = None) -> None:
        self.settings, self.as_of = settings, as_of
        self._con: duckdb.DuckDBPyConnection | None = None  # a past snapshot's own connection (as_of)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def read(self, call: Call) -> Shown:
        """What the call may show; refused or failed calls raise after they are recorded."""

        def check() -> None:
            if call.command in ("person", "phone") and call.value:  # "is this number a person?", asked once more
                probes.tried(self.settings, call.user.name, [call.value])
            if call.guard:
                call.guard(self.settings, call)

        return self._recorded(
            call, lambda seen, planned: self._free(planned, seen) if planned else self._lookup(call, seen), check
        )

    def collide(self, call: Call, listing: pa.Table) -> pa.Table:
        """An outside person list matched against the lake's people (数据碰撞) on what its rows state exactly
        (:data:`linkage.files.ANCHORS`): the pairs (list key, lake record key, person key, reason; no value
        of the lake), recorded like any read, the lake persons matched as the persons read."""
        found: list[pa.Table] = []
        outside: list[pa.Table] = []  # the list as the linker reads it: counted by the guard, then matched

        def run(_: masked.Context, __: plan.Plan | None) -> tuple[Shown, dict]:
            from linkage import files

            con = lake.connect(self.settings, read_only=True, as_of=self.as_of)
            try:
                pairs = files.link_list_against_lake(con, outside[0])
                keys = sorted(set(pairs.column("key_r").to_pylist()))
                sql = (
                    "SELECT DISTINCT id18 FROM linkage.features WHERE id18 IS NOT NULL AND list_contains($k, unique_id)"
                )
                ids = con.execute(sql, {"k": keys}).fetchall()
            finally:
                con.close()
            pairs = _one_row_a_person(pairs)
            found.append(pairs)
            shown = Shown({"pairs": (pairs.column_names, [tuple(r.values()) for r in pairs.to_pylist()])})
            return shown, {"rows": pairs.num_rows, "subjects": self._hashes({i for (i,) in ids})}

        def check() -> None:
            from linkage import files

            if listing.num_rows > self.settings.collide_rows:
                raise Refused(f"the list has {listing.num_rows:,} rows; at most {self.settings.collide_rows:,} "
                              "(XGATE_COLLIDE_ROWS)")  # fmt: skip
            outside.append(files.list_features(listing))
            _not_an_enumeration(self.settings, call.user.name, outside[0])

        self._recorded(call, run, check=check)
        return found[0]

    def _recorded(
        self,
        call: Call,
        run: Callable[[masked.Context, plan.Plan | None], tuple[Shown, dict]],
        check: Callable[[], None] | None = None,
    ) -> Shown:
        """Authorise and bind ``call`` to its case (and ``check`` it), then ``run`` it between its two audit
        records; a refusal before it runs is one record."""
        entry = {"user": call.user.name, "role": call.user.role, "case": call.case, "purpose": call.purpose,
                 "command": call.command, "query": call.text, "as_of": self.as_of}  # fmt: skip
        persons = {"subjects": self._hashes(named(call.text) | call.named)}
        try:
            authorise(call.user, call.command)
            seen = context(self.settings, call.user, call)
            if check is not None:
                check()
            planned = self._plan(call) if call.sql is not None else None
            for relation in planned.relations if planned else ():
                _rows_allowed(relation.table, seen)
        except XgateError as exc:  # refused, or the ledger or lake cannot be trusted or reached: recorded too
            if not isinstance(exc, audit.AuditDamaged):
                outcome = "refused" if isinstance(exc, Refused) else "failed"
                audit.append(self.settings, entry | persons | {"outcome": outcome, "reason": str(exc)})
            raise
        facts = {"granted": sorted(seen.granted)}
        if planned is not None:
            facts |= {"fields": list(planned.fields), "datasets": list(planned.datasets)}
        started = audit.append(self.settings, entry | persons | facts | {"outcome": "started"})
        try:
            shown, outcome = run(seen, planned)
        except XgateError as exc:
            audit.append(self.settings, {"of": started["seq"], "outcome": "failed", "reason": str(exc)})
            raise
        except Exception as exc:  # a bug or the lake gone: still recorded, never with the database's words
            failure = engine.failed(self.settings, exc)
            audit.append(self.settings, {"of": started["seq"], "outcome": "failed", "reason": str(failure)})
            raise failure from None
        digest = hashlib.sha256(audit.canonical({k: [c, r] for k, (c, r) in shown.sections.items()})).hexdigest()
        audit.append(self.settings, {"of": started["seq"], "outcome": "allowed", "result_hash": digest} | outcome)
        return shown

    def _hashes(self, ids: set[str]) -> list[str]:
        return sorted(audit.subject_hash(self.settings, i) for i in ids)

    def _plan(self, call: Call) -> plan.Plan:
        try:
            if call.command == "sql":
                con = lake.connect(self.settings, read_only=True, as_of=self.as_of)
                try:
                    return plan.build(call.sql, plan.lake_schema(con))
                finally:
                    con.close()
            return plan.shared_plan(call.sql)
        except (Refused, XgateError):
            raise
        except Exception as exc:  # fail closed: what cannot be checked does not run
            raise Refused(f"this query cannot be checked ({type(exc).__name__}); write it more simply") from None

    def _free(self, planned: plan.Plan, seen: masked.Context) -> tuple[Shown, dict]:
        result = engine.run(self.settings, planned, seen, self.as_of)
        shown = Shown({"result": (list(planned.columns), result.rows)})
        if result.truncated:
            shown.notes.append(f"result cut: {result.truncated}")
        exact = set(self._hashes(result.exact_ids)) | result.exact
        outcome = {"rows": len(result.rows), "snapshot": result.snapshot, "subjects": sorted(exact)}
        if result.possible - exact:
            outcome["possible_subjects"] = sorted(result.possible - exact)
        return shown, outcome | ({"truncated": result.truncated} if result.truncated else {})

    def _lookup(self, call: Call, seen: masked.Context) -> tuple[Shown, dict]:
        """The sections of a lookup in one read-only transaction (one snapshot for all of them), on the
        kept locked lake (:func:`warehouse.lake.locked`), or on this reader's own connection to a past one."""
        if self.as_of is not None:
            if self._con is None:
                self._con, _ = lake.connect_locked(self.settings, self.as_of)
            return self._sections(self._con, call, seen)
        with lake.locked(self.settings) as con:
            return self._sections(con, call, seen)

    def _sections(self, con: duckdb.DuckDBPyConnection, call: Call, seen: masked.Context) -> tuple[Shown, dict]:
        shown, sids, rows_total = Shown(), set(), 0
        visible = policy.shared_schema()["shared"]
        con.execute(MASK_MACRO)
        con.execute("BEGIN TRANSACTION")
        try:
            snapshot = self.as_of if self.as_of is not None else con.execute(
                f"FROM {lake.LAKE}.current_snapshot()").fetchone()[0]  # fmt: skip
            with engine.deadline(con, self.settings.query_timeout):
                for section, parts in call.sections.items():
                    try:
                        for part in parts:
                            _rows_allowed(part.view, seen)
                    except Refused as exc:
                        shown.notes.append(f"{section}: {exc}")
                        continue
                    try:
                        columns, rows, found = self._section(con, parts, visible, seen, call.value)
                    except duckdb.CatalogException:  # a view whose departments have not all landed yet
                        shown.notes.append(f"not available yet (its departments have not all landed): {section}")
                        con.execute("ROLLBACK")  # the failed statement ended the transaction's use
                        con.execute("BEGIN TRANSACTION")
                        continue
                    shown.sections[section] = (columns, rows)
                    sids |= found
                    rows_total += len(rows)
        finally:
            with contextlib.suppress(duckdb.Error):  # it only read; an interrupted one has ended already
                con.execute("ROLLBACK")
        return shown, {"rows": rows_total, "snapshot": snapshot, "subjects": sorted(sids)}

    def _section(
        self, con: duckdb.DuckDBPyConnection, parts: tuple[Part, ...], visible: dict, seen: masked.Context, value: str
    ) -> tuple[list[str], list[tuple], set[str]]:
        selects = []
        for part in parts:
            names = part.columns or tuple(visible[part.view.split(".")[1]])
            selects.append(masked.select(part.view, names, seen, part.where, sid=True, constants=part.constants))
        sql = " UNION ALL ".join(selects) + " ORDER BY ALL"  # one order: the same read, the same result hash
        cursor = con.execute(sql, seen.params(sql, value=value))
        columns = [d[0] for d in cursor.description][:-1]
        rows = cursor.fetchmany(self.settings.query_rows)
        return columns, [r[:-1] for r in rows], {r[-1] for r in rows if r[-1]}

"""A relation as one reader may see it: each column clear, masked or hidden before any query sees it.

What a reader sees of a column is its contract classification (:mod:`access.policy`) given the read's
context: sensitive fields of a dataset show only under the reader's own grant for the case; personal
fields are masked (``xg_mask``, the SQL twin of :func:`contracts.masking.mask_value`) except on rows about
a subject of the case, which its investigators see in full; hidden fields hold ``[hidden]`` on every row;
not-shared fields are not in the schema at all. A masked value is text: no cast, function, filter, join,
sort or hash over it can reach the hidden part, because the hidden part is not there.
"""

from __future__ import annotations

from dataclasses import dataclass

from access import policy
from connectors.staging import LINEAGE
from contracts.masking import HIDDEN
from contracts.sql import quote

SID = "__xg_sid"  # the keyed hash of a row's subject, for who-read; never in a schema a query is checked against


@dataclass(frozen=True)
class Context:
    granted: frozenset[str] = frozenset()  # datasets whose sensitive fields this read may see
    subjects: frozenset[str] = frozenset()  # person IDs this read may see in full
    sid_key: str = ""  # hex key of the subject hashes (see access.audit.subject_hash)

    def params(self, sql: str, **more: object) -> dict[str, object]:
        """The parameters ``sql`` uses (DuckDB refuses ones it does not)."""
        every = {"subjects": sorted(self.subjects), "sid_key": self.sid_key, **more}
        return {name: value for name, value in every.items() if f"${name}" in sql}


def _as_field(dataset: str, field: str, text: str, context: Context) -> str:
    """``text`` (SQL of one value of ``dataset.field``) as the context may see it, subjects aside."""
    level = policy.level(frozenset({(dataset, field.removesuffix("__original"))}), context.granted)
    return text if level == policy.CLEAR else _text(HIDDEN) if level == policy.HIDE else f"xg_mask({text})"


def _quarantined(name: str, context: Context) -> str:
    """A quarantined row's failing value and whole record, each value masked by the field it belongs to, so
    engineers can triage quarantine (batch, row, column in clear) without seeing what the contract hides."""
    if name == "value":
        cases = [
            f"WHEN dataset = {_text(d)} AND column_name IN ({_text(f)}, {_text(f + '__original')}) "
            f"THEN {_as_field(d, f, 'value', context)}"
            for d, f in policy.fields()
        ]
        return f"CASE {' '.join(cases)} END AS value"
    cases = []
    for dataset in sorted({d for d, _ in policy.fields()}):
        shared = [f for d, f in policy.fields() if d == dataset and policy.fields()[(d, f)].sharing != "not-shared"]
        items = [f"{_text(f)}, {_as_field(dataset, f, _member(f), context)}" for f in shared]
        items += [f"{_text(c)}, {_member(c)}" for c in LINEAGE]
        cases.append(f"WHEN dataset = {_text(dataset)} THEN json_object({', '.join(items)})")
    return f"CASE {' '.join(cases)} END AS record"


def _member(key: str) -> str:
    return f"json_extract_string(record, {_text('$.' + key)})"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def column(table: str, name: str, context: Context) -> str:
    """The select item showing ``table.name`` as ``context`` may see it (parameters ``$subjects``)."""
    if table.startswith("quarantine.") and name in policy.QUARANTINED:
        return _quarantined(name, context)
    level = policy.level(policy.column_origins(table, name), context.granted)
    value = quote(name)
    if level == policy.CLEAR:
        return value
    if level == policy.HIDE:  # one constant for every row: no filter, sort or count can tell rows apart by it
        return f"{_text(HIDDEN)} AS {value}"
    text = f"CAST({value} AS VARCHAR)"
    subject = policy.subject_column(table)
    if subject is None:
        return f"xg_mask({text}) AS {value}"
    whose = f"CAST({quote(subject)} AS VARCHAR)"
    return f"CASE WHEN list_contains($subjects::VARCHAR[], {whose}) THEN {text} ELSE xg_mask({text}) END AS {value}"


def select(
    table: str,
    columns: tuple[str, ...],
    context: Context,
    where: str = "",
    sid: bool = False,
    constants: tuple[tuple[str, str], ...] = (),
) -> str:
    """``SELECT`` of ``columns`` of lake ``table`` as the context may see them, after fixed ``constants``
    (name, text), filtered by ``where`` (evaluated on the stored values: only fixed lookups pass one);
    with ``sid``, last, each row's subject hash (NULL where the table has no subject column)."""
    items = [f"{_text(text)} AS {quote(name)}" for name, text in constants]
    items += [column(table, c, context) for c in columns]
    if sid:
        subject = policy.subject_column(table)
        whose = f"left(sha256($sid_key || upper(CAST({quote(subject)} AS VARCHAR))), 32)" if subject else "NULL"
        items.append(f"CAST({whose} AS VARCHAR) AS {SID}")
    schema, name = table.split(".", 1)
    return f"SELECT {', '.join(items)} FROM lake.{quote(schema)}.{quote(name)}" + (f" WHERE {where}" if where else "")

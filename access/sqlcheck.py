"""The first gate for SQL people write: accepted only if every part of it is on an explicit list.

The query is parsed with sqlglot (which normalises case, quoting and comments) and walked node by node:
each node must be a kind listed in :data:`STRUCTURE`, an operator in :data:`OPERATORS`, or a function in
:data:`FUNCTIONS` (by sqlglot's typed node) or :data:`NAMED_FUNCTIONS` (by name). Anything else, which
includes every table function, file, setting, catalog or extension function, ``error()``, recursion,
parameters, a second statement and every statement but a query, is refused with what was found. What
is not listed is refused, so a DuckDB feature added tomorrow is refused too.

This gate keeps the query to plain relational work over values. What it can see is decided elsewhere:
the query runs over masked copies of the relations it names, in a DuckDB instance that holds nothing
else (:mod:`access.engine`).
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp

from access.users import Refused

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is our refusal to make

STRUCTURE: tuple[type[exp.Expression], ...] = (
    exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Qualify, exp.Order, exp.Ordered,
    exp.Limit, exp.Offset, exp.Subquery, exp.With, exp.CTE, exp.Union, exp.Intersect, exp.Except, exp.TableAlias,
    exp.Table, exp.Identifier, exp.Column, exp.Star, exp.Alias, exp.Paren, exp.Distinct, exp.Tuple, exp.Literal,
    exp.Null, exp.Boolean, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam, exp.Interval,
    exp.Window, exp.WindowSpec, exp.Exists, exp.In, exp.Between, exp.Is, exp.Not, exp.And, exp.Or, exp.Var,
    exp.Bracket, exp.Dot, exp.Array, exp.Lambda, exp.Filter, exp.Any, exp.All, exp.Lateral, exp.Values,
    exp.Slice, exp.RespectNulls, exp.IgnoreNulls, exp.Escape, exp.Semicolon, exp.Struct, exp.PropertyEQ,
)  # fmt: skip
OPERATORS: tuple[type[exp.Expression], ...] = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Like, exp.ILike,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.DPipe, exp.Distance, exp.Pow,
    exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot, exp.SimilarTo, exp.Glob, exp.RegexpLike,
)  # fmt: skip
FUNCTIONS: tuple[type[exp.Expression], ...] = (
    # text
    exp.Lower, exp.Upper, exp.Length, exp.Substring, exp.Left, exp.Right, exp.Trim, exp.Replace, exp.Concat,
    exp.ConcatWs, exp.Reverse, exp.StrPosition, exp.Contains, exp.StartsWith, exp.EndsWith,
    exp.SplitPart, exp.RegexpExtract, exp.RegexpReplace, exp.MD5, exp.SHA2, exp.Ascii, exp.Unicode, exp.Chr,
    exp.Levenshtein, exp.Split, exp.ArrayToString, exp.Initcap,
    # numbers and logic
    exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Greatest, exp.Least, exp.Coalesce, exp.Nullif, exp.Sign,
    exp.Sqrt, exp.Ln, exp.Log, exp.Typeof,
    # dates
    exp.Year, exp.Month, exp.Day, exp.Quarter, exp.Week, exp.DayOfWeek, exp.DayOfWeekIso, exp.Hour, exp.Minute,
    exp.Second, exp.TimestampTrunc, exp.DateTrunc, exp.DateDiff, exp.DateAdd, exp.DateSub, exp.TimeToStr,
    exp.StrToTime, exp.StrToDate, exp.CurrentDate, exp.CurrentTimestamp, exp.TimeToUnix, exp.DateFromParts,
    exp.Extract,
    # aggregates and windows
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.First, exp.Last, exp.GroupConcat, exp.ArrayAgg,
    exp.CountIf, exp.Median, exp.Mode, exp.ApproxDistinct, exp.Stddev, exp.StddevPop, exp.StddevSamp,
    exp.Variance, exp.LogicalAnd, exp.LogicalOr, exp.AnyValue, exp.RowNumber, exp.Rank, exp.DenseRank, exp.Lag,
    exp.Lead, exp.Ntile, exp.FirstValue, exp.LastValue, exp.NthValue, exp.PercentRank, exp.CumeDist,
    # lists of values (no list is made from a number: range(), generate_series(), repeat() are not here)
    exp.ArrayContains, exp.ArraySize, exp.ArraySort, exp.ArrayDistinct, exp.Explode, exp.Flatten,
)  # fmt: skip
NAMED_FUNCTIONS = frozenset({
    "date_part", "strlen", "length_grapheme", "list_extract", "array_extract", "list_has_any", "list_has_all",
    "list_position", "list_reverse", "list_slice", "regexp_full_match", "nfc_normalize", "strip_accents",
    "ltrim", "rtrim", "isodow", "dayofyear", "yearweek", "bit_length", "octet_length", "lcase", "ucase", "hash",
})  # fmt: skip
RESERVED_PREFIX = "__xg"  # names the engine gives its own relations and columns
# How big a query may be: planning (sqlglot, then DuckDB's binder) grows faster than the query, and cannot
# be interrupted, so a query past these is refused before anything plans it.
MOST_CHARACTERS = 20_000
MOST_NODES = 3_000
MOST_DEPTH = 12  # queries nested in queries
MOST_SCANS = 24  # relations read once every CTE is expanded where it is used


def function_name(node: exp.Expression) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _refusal(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        return None if name in NAMED_FUNCTIONS else f"function {name}() is not allowed"
    if isinstance(node, STRUCTURE + OPERATORS + FUNCTIONS):
        if isinstance(node, exp.With) and node.args.get("recursive"):
            return "recursive queries are not allowed"
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            return f"table functions are not allowed: {node.sql(dialect='duckdb')[:60]}"
        if isinstance(node, exp.Identifier) and node.name.lower().startswith(RESERVED_PREFIX):
            return f"names starting with {RESERVED_PREFIX} are reserved"
        if isinstance(node, exp.Lateral) and not isinstance(node.this, exp.Subquery | exp.Select):
            return "LATERAL is allowed over a subquery only"
        return None
    if isinstance(node, exp.Func):
        return f"function {function_name(node)}() is not allowed"
    return f"{node.key.upper()} is not allowed"


def check(sql: str) -> exp.Query:
    """The parsed query, every node of it on the lists; :class:`Refused` with the reason otherwise."""
    if len(sql) > MOST_CHARACTERS:
        raise Refused(f"the query is {len(sql):,} characters; at most {MOST_CHARACTERS:,}")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise Refused(f"not valid SQL: {str(exc).splitlines()[0][:200]}") from None
    statements = [s for s in statements if not isinstance(s, exp.Semicolon)]  # a trailing comment
    if len(statements) != 1:
        raise Refused("only one statement is allowed")
    query = statements[0]
    if not isinstance(query, exp.Query):
        raise Refused(f"only SELECT is allowed, not {query.key.upper()}")
    nodes = 0
    for node in query.walk():
        if (reason := _refusal(node)) is not None:
            raise Refused(reason)
        nodes += 1
    _small_enough(query, nodes)
    return query


def _small_enough(query: exp.Query, nodes: int) -> None:
    if nodes > MOST_NODES:
        raise Refused(f"the query is too large ({nodes:,} parts; at most {MOST_NODES:,}); split it")
    depth = max((sum(1 for p in _parents(n) if isinstance(p, exp.Query)) for n in query.find_all(exp.Query)), default=0)
    if depth > MOST_DEPTH:
        raise Refused(f"queries nest {depth} deep; at most {MOST_DEPTH}")
    ctes = {cte.alias_or_name.lower(): cte.this for cte in query.find_all(exp.CTE)}
    expanded: dict[str, int] = {}

    def scans(node: exp.Expression, seen: tuple[str, ...] = ()) -> int:
        total = 0
        for table in node.find_all(exp.Table):
            name = table.name.lower()
            if not table.db and name in ctes and name not in seen:
                if name not in expanded:
                    expanded[name] = scans(ctes[name], (*seen, name))
                total += expanded[name]
            else:
                total += 1
            if total > MOST_SCANS:
                break
        return total

    body = query.copy()
    for cte in body.find_all(exp.CTE):
        cte.pop()
    if scans(body) > MOST_SCANS:
        raise Refused(f"the query reads more than {MOST_SCANS} relations once its CTEs are expanded; simplify it")


def _parents(node: exp.Expression):
    while node.parent is not None:
        node = node.parent
        yield node

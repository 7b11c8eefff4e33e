"""The domain checks and normalisers as DuckDB SQL, so a batch is checked in one columnar pass.

python-stdnum is the reference for every checksum here (``stdnum.cn.ric``, ``stdnum.cn.uscc``): the
pandas side of each custom expectation calls it directly, and the tests hold these macros to it on
every ID of the sandbox. The GB/T 2260 area-code list is :mod:`contracts.areas`, with the years each
code was in force. An ID's first ten characters are its area code and birth year, so "was this code in
force in that year" is one lookup: in ``xg_area_always`` (codes never bounded) or ``xg_area_years``
(code and year as one number, for the bounded ones). A hash join on a constant table, where a correlated subquery
first grouped every distinct ID (10M IDs: 1.2 GB and a fifth of the time).
"""

from __future__ import annotations

from functools import cache

from contracts.areas import area_codes

RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FULLWIDTH_FROM = "０１２３４５６７８９ＸｘＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱＲＴＵＷＹ　"
FULLWIDTH_TO = "0123456789XxABCDEFGHJKLMNPQRTUWY "

MACROS = f"""
CREATE OR REPLACE TEMP MACRO xg_trim(s) AS
  CASE WHEN strlen(s) = length(s) AND NOT prefix(s, ' ') AND NOT suffix(s, ' ') THEN s ELSE trim(s) END;
CREATE OR REPLACE TEMP MACRO xg_halfwidth(s) AS
  CASE WHEN strlen(s) = length(s) THEN s ELSE translate(s, '{FULLWIDTH_FROM}', '{FULLWIDTH_TO}') END;
CREATE OR REPLACE TEMP MACRO xg_ric_check(s17) AS
  substr('10X98765432', ((list_dot_product(string_split(s17, '')::INT[], {RIC_WEIGHTS}::INT[]))::BIGINT % 11) + 1, 1);
CREATE OR REPLACE TEMP MACRO xg_id18(s15) AS
  substr(s15, 1, 6) || '19' || substr(s15, 7, 9) || xg_ric_check(substr(s15, 1, 6) || '19' || substr(s15, 7, 9));
CREATE OR REPLACE TEMP MACRO xg_ric_birth(s) AS try_strptime(substr(s, 7, 8), '%Y%m%d')::DATE;
CREATE OR REPLACE TEMP MACRO xg_ric_ok(s) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN NOT regexp_full_match(s, '[0-9]{{17}}[0-9X]') THEN false
       WHEN xg_ric_birth(s) IS NULL THEN false
       WHEN xg_ric_check(substr(s, 1, 17)) <> substr(s, 18, 1) THEN false
       ELSE coalesce(substr(s, 1, 6) IN (SELECT code FROM xg_area_always)
                     OR xg_area_year_key(s) IN (SELECT key FROM xg_area_years), false) END;
CREATE OR REPLACE TEMP MACRO xg_uscc_ok(s) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN NOT regexp_full_match(s, '[0-9]{{8}}[{USCC_ALPHABET}]{{10}}') THEN false
       ELSE substr('{USCC_ALPHABET}', ((31 - (list_dot_product(
              list_transform(string_split(substr(s, 1, 17), ''), c -> strpos('{USCC_ALPHABET}', c) - 1)::INT[],
              {USCC_WEIGHTS}::INT[]))::BIGINT % 31) % 31) + 1, 1) = substr(s, 18, 1) END;
CREATE OR REPLACE TEMP MACRO xg_party_ok(s) AS xg_ric_ok(s) OR xg_uscc_ok(s);
CREATE OR REPLACE TEMP MACRO xg_mobile_ok(s) AS regexp_full_match(s, '1[3-9][0-9]{{9}}');
CREATE OR REPLACE TEMP MACRO xg_to_date(s) AS coalesce(
  try_strptime(s, '%Y-%m-%d'), try_strptime(s, '%Y%m%d'), try_strptime(s, '%Y/%m/%d'),
  try_strptime(s, '%Y年%m月%d日'), try_strptime(s, '%Y-%m-%d %H:%M:%S'), try_strptime(s, '%Y-%m-%dT%H:%M:%S'));
CREATE OR REPLACE TEMP MACRO xg_date_ok(s) AS xg_to_date(s) IS NOT NULL;
CREATE OR REPLACE TEMP MACRO xg_not_legacy(s) AS NOT regexp_full_match(trim(s), '[0-9]{{15}}');
CREATE OR REPLACE TEMP MACRO xg_not_fullwidth(s) AS NOT regexp_matches(s, '[{FULLWIDTH_FROM}]');
CREATE OR REPLACE TEMP MACRO xg_type_ok(s, t) AS s IS NULL OR CASE t
  WHEN 'date' THEN TRY_CAST(CAST(s AS VARCHAR) AS DATE) IS NOT NULL
  WHEN 'timestamp' THEN TRY_CAST(CAST(s AS VARCHAR) AS TIMESTAMPTZ) IS NOT NULL
  WHEN 'integer' THEN TRY_CAST(CAST(s AS VARCHAR) AS BIGINT) IS NOT NULL
  WHEN 'number' THEN TRY_CAST(CAST(s AS VARCHAR) AS DOUBLE) IS NOT NULL
  WHEN 'boolean' THEN TRY_CAST(CAST(s AS VARCHAR) AS BOOLEAN) IS NOT NULL
  ELSE true END;
"""

# normaliser -> SQL applied to the expression built so far (``{}``), in the declared order.
NORMALISE_SQL = {
    "fullwidth": "xg_halfwidth({})",
    "trim": "xg_trim({})",
    "upper": "upper({})",
    "phone": r"CASE WHEN regexp_full_match({0}, '1[0-9]{{10}}') THEN {0} "
    r"ELSE regexp_replace({0}, '^(\+86|0086)|[\s\-]', '', 'g') END",
    "date": "coalesce(strftime(xg_to_date({0}), '%Y-%m-%d'), {0})",
    "legacy_id": "CASE WHEN length({0}) = 15 AND regexp_full_match({0}, '[0-9]{{15}}') THEN xg_id18({0}) ELSE {0} END",
}
# single-column domain checks -> macro returning true when the value passes (NULL passes: not_null's job)
CHECK_MACROS = {
    "resident_id": "xg_ric_ok",
    "party_id": "xg_party_ok",
    "credit_code": "xg_uscc_ok",
    "mobile_phone": "xg_mobile_ok",
    "date": "xg_date_ok",
    "legacy_id": "xg_not_legacy",
    "fullwidth": "xg_not_fullwidth",
}
READ_TWICE = {"phone", "date", "legacy_id"}  # their SQL names the input more than once
ON_ORIGINAL = {"legacy_id", "fullwidth"}  # judged on the value as sent, before normalisation


@cache
def area_year_bounds() -> tuple[int, int]:
    """The years just outside every bound of the list: before the first and after the last, whether a code was
    in force no longer depends on the year (only on whether that side is open), so a birth year is clamped
    into this span and ``xg_area_years`` holds ~50 years per code rather than 300 (a 2.5x smaller hash build,
    paid by every check)."""
    years = [y for a in area_codes() for y in (a.first_year, a.last_year) if y is not None]
    return min(years) - 1, max(years) + 1


@cache
def area_code_rows() -> str:
    """Every county code with its years in force, as one ``code,first,last;...`` text (open years empty).

    One string literal, split by DuckDB: ~6,000 ``VALUES`` rows cost 60 ms to parse on every connection,
    and list parameters made DuckDB import pandas (0.4 s of a 10-row validate)."""
    return ";".join(
        f"{a.code},{'' if a.first_year is None else a.first_year},{'' if a.last_year is None else a.last_year}"
        for a in area_codes()
    )


def install(execute) -> None:
    """Create the area-code tables and the macros through ``execute(sql)`` on one DuckDB connection."""
    execute("SET enable_progress_bar = false")
    execute(
        "CREATE OR REPLACE TEMP TABLE xg_area_codes AS SELECT split_part(r, ',', 1) AS code, "
        "TRY_CAST(split_part(r, ',', 2) AS INTEGER) AS first_year, "
        "TRY_CAST(split_part(r, ',', 3) AS INTEGER) AS last_year "
        f"FROM (SELECT unnest(string_split({literal(area_code_rows())}, ';')) AS r)"
    )
    execute(
        "CREATE OR REPLACE TEMP TABLE xg_area_always AS SELECT code FROM xg_area_codes "
        "WHERE first_year IS NULL AND last_year IS NULL"
    )
    before, after = area_year_bounds()
    execute(
        "CREATE OR REPLACE TEMP TABLE xg_area_years AS "
        "SELECT CAST(code AS BIGINT) * 10000 + y AS key FROM xg_area_codes, "
        f"range(coalesce(first_year, {before}), coalesce(last_year, {after}) + 1) r(y) "
        "WHERE first_year IS NOT NULL OR last_year IS NOT NULL"
    )
    execute(  # an ID's area code and birth year (clamped, see area_year_bounds) as one key of xg_area_years
        "CREATE OR REPLACE TEMP MACRO xg_area_year_key(s) AS TRY_CAST(substr(s, 1, 6) AS BIGINT) * 10000 + "
        f"least(greatest(TRY_CAST(substr(s, 7, 4) AS INTEGER), {before}), {after})"
    )
    for statement in filter(str.strip, MACROS.split(";\n")):
        execute(statement)


def literal(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def normalised(column: str, steps: tuple[str, ...]) -> str:
    """The SQL applying ``steps`` to a column, in order (each step reads the previous one's result).

    The leading clean-up (the implicit trim, then any ``fullwidth`` / ``trim`` steps) changes nothing in
    plain ASCII without edge spaces, so one test on the raw value skips it: the check pass evaluates
    these expressions unshared, and nested guarded macros multiplied their input there.
    """
    value = f"CAST({quote(column)} AS VARCHAR)"
    cleanup = 0
    while cleanup < len(steps) and steps[cleanup] in ("fullwidth", "trim"):
        cleanup += 1
    messy = f"xg_trim({value})"
    for step in steps[:cleanup]:
        messy = NORMALISE_SQL[step].format(messy)
    plain = f"strlen({value}) = length({value}) AND NOT prefix({value}, ' ') AND NOT suffix({value}, ' ')"
    expr = f"nullif(CASE WHEN {plain} THEN {value} ELSE {messy} END, '')"  # an empty cell is a missing value
    for step in steps[cleanup:]:
        expr = NORMALISE_SQL[step].format(expr)
    return expr


def split_steps(steps: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Steps that read their input once, and the rest from the first step that reads it several times
    (evaluated one query level up, so the chain below it is computed once per row)."""
    cut = next((i for i, step in enumerate(steps) if step in READ_TWICE), len(steps))
    return steps[:cut], steps[cut:]

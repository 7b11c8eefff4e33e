"""Person records to comparable features: the one place where a name, an ID, a date or a phone is cleaned.

Input is any relation with the role columns of :data:`ROLES` (missing ones are NULL); output is one row
per record with the columns the model compares. Made for Chinese data:

- names: spaces removed, middle dots unified, placeholders (未知, 不详, 无名氏 ...) made NULL; compared by
  code point (DuckDB's own ``levenshtein`` counts UTF-8 bytes: '张伟' / '张炜' would be 3 apart) and by
  toneless pinyin (pypinyin, one reading per character, so homophones 张伟 / 张炜 agree);
- resident IDs: full-width digits made half-width, 15-digit legacy IDs converted to 18 (century 19,
  check character computed), placeholders (one repeated digit, 123456...) made NULL; split into area,
  birth date and sequence, with the body's sorted digits as a key that survives a swapped pair;
- birth dates from the ID when its check character holds (a field that disagrees with a valid ID is
  the clerk's error, a swapped pair of digits would give a wrong date), else from the field in the
  four formats departments use; sex from the field, else the ID's parity;
  phones to 11 digits; address codes as digits.

Pinyin is computed once per distinct character in Python and joined back, so a million names cost
about a second.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

ROLES = (
    "name",
    "family_name",
    "given_name",
    "id_number",
    "birth_date",
    "sex",
    "phone",
    "address",
    "address_code",
    "postcode",
    "other_id",
)
PLACEHOLDER_NAMES = ("未知", "不详", "无", "无名氏", "不明", "待定", "unknown", "null", "none", "n/a", "na", "-", "?")
FEATURES = (
    "unique_id",
    "source_dataset",
    "name_cp",
    "name_py",
    "surname_py",
    "id18",
    "id_body",
    "id_sorted",
    "id_area_birth",
    "birth_date",
    "birth_year",
    "sex",
    "phone",
    "address_code",
    "postcode",
    "other_id",
)

MACROS = r"""
CREATE OR REPLACE TEMP MACRO xl_halfwidth(s) AS
  translate(s, '０１２３４５６７８９ＸｘＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＹＺ　－＋（）',
               '0123456789XxABCDEFGHIJKLMNOPQRSTUVWYZ -+()');
CREATE OR REPLACE TEMP MACRO xl_check_char(body) AS
  substring('10X98765432', CAST(list_sum(list_transform(range(17),
    lambda i: CAST(substring(body, i + 1, 1) AS INTEGER) * [7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2][i + 1])) % 11
    AS BIGINT) + 1, 1);
CREATE OR REPLACE TEMP MACRO xl_id_clean(s) AS upper(regexp_replace(xl_halfwidth(s), '[\s-]', '', 'g'));
CREATE OR REPLACE TEMP MACRO xl_id18(s) AS (
  WITH c AS (SELECT xl_id_clean(s) AS v)
  SELECT CASE
    WHEN replace(substring(v, 1, length(v) - 1), substring(v, 1, 1), '') = '' THEN NULL
    WHEN v IN ('123456789012345678', '012345678901234567', '123456789012345') THEN NULL
    WHEN regexp_full_match(v, '[0-9]{17}[0-9X]') THEN v
    WHEN regexp_full_match(v, '[0-9]{15}')
      THEN substring(v, 1, 6) || '19' || substring(v, 7, 9)
        || xl_check_char(substring(v, 1, 6) || '19' || substring(v, 7, 9))
    ELSE NULL END FROM c);
CREATE OR REPLACE TEMP MACRO xl_date(s) AS COALESCE(
  TRY_CAST(s AS DATE),
  TRY_STRPTIME(CAST(s AS VARCHAR), '%Y%m%d')::DATE,
  TRY_STRPTIME(CAST(s AS VARCHAR), '%Y/%m/%d')::DATE,
  TRY_STRPTIME(CAST(s AS VARCHAR), '%Y年%m月%d日')::DATE,
  TRY_STRPTIME(CAST(s AS VARCHAR), '%Y.%m.%d')::DATE);
CREATE OR REPLACE TEMP MACRO xl_sex(s) AS CASE
  WHEN lower(trim(CAST(s AS VARCHAR))) IN ('男', 'm', 'male', '1') THEN 'M'
  WHEN lower(trim(CAST(s AS VARCHAR))) IN ('女', 'f', 'female', '2') THEN 'F' END;
CREATE OR REPLACE TEMP MACRO xl_phone(s) AS (
  WITH c AS (SELECT regexp_replace(xl_halfwidth(CAST(s AS VARCHAR)), '[^0-9]', '', 'g') AS d)
  SELECT CASE WHEN length(d) = 13 AND d LIKE '86%' THEN substring(d, 3)
              WHEN length(d) = 11 THEN d END FROM c);
CREATE OR REPLACE TEMP MACRO xl_name(s) AS (
  WITH c AS (SELECT lower(regexp_replace(regexp_replace(xl_halfwidth(trim(CAST(s AS VARCHAR))), '\s+', '', 'g'),
                                          '[•・‧∙⋅．.]', '·', 'g')) AS v)
  SELECT CASE WHEN v = '' OR v IN {placeholders} THEN NULL ELSE v END FROM c);
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The cleaning and comparison macros, on a connection the model's SQL runs on."""
    placeholders = "(" + ", ".join(f"'{p}'" for p in PLACEHOLDER_NAMES) + ")"
    con.execute(MACROS.replace("{placeholders}", placeholders))
    from linkage.comparisons import install_comparison_macros

    install_comparison_macros(con)


def _select_roles(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    cols = [f"CAST({r} AS VARCHAR) AS {r}" if r in have else f"CAST(NULL AS VARCHAR) AS {r}" for r in ROLES]
    return ", ".join(
        ["CAST(unique_id AS VARCHAR) AS unique_id", "CAST(source_dataset AS VARCHAR) AS source_dataset", *cols]
    )


def pinyin_of(names: list[str]) -> list[tuple[str | None, str | None]]:
    """(toneless pinyin of the whole name, of its first character that has one) per name; one reading per character."""
    from pypinyin import Style, lazy_pinyin

    cache: dict[str, str] = {}

    def syllable(c: str) -> str:
        if c not in cache:
            cache[c] = "" if c == "·" else lazy_pinyin(c, style=Style.NORMAL, errors="default")[0].lower()
        return cache[c]

    out = []
    for name in names:
        parts = [p for p in (syllable(c) for c in name) if p]  # a middle dot reads as nothing, here too
        out.append(("".join(parts) or None, parts[0] if parts else None))
    return out


def build(con: duckdb.DuckDBPyConnection, relation: str, target: str = "features") -> int:
    """Create ``target`` (a temp table of :data:`FEATURES`) from a relation of role columns; rows made."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _roles AS
        WITH r AS (SELECT {_select_roles(con, relation)} FROM {relation})
        SELECT unique_id, source_dataset,
          xl_name(COALESCE(name, family_name || given_name, family_name, given_name)) AS name_cp,
          xl_id18(id_number) AS id18,
          xl_date(birth_date) AS given_birth, xl_sex(sex) AS given_sex, xl_phone(phone) AS phone,
          NULLIF(regexp_replace(xl_halfwidth(address_code), '[^0-9]', '', 'g'), '') AS address_code,
          NULLIF(regexp_replace(xl_halfwidth(postcode), '[^0-9]', '', 'g'), '') AS postcode,
          NULLIF(upper(regexp_replace(xl_halfwidth(other_id), '[\\s-]', '', 'g')), '') AS other_id
        FROM r"""
    )
    names = [row[0] for row in con.execute("SELECT DISTINCT name_cp FROM _roles WHERE name_cp IS NOT NULL").fetchall()]
    readings = pinyin_of(names)
    con.register(
        "_pinyin",
        pa.table(
            {
                "name_cp": pa.array(names, pa.string()),
                "name_py": pa.array([r[0] for r in readings], pa.string()),
                "surname_py": pa.array([r[1] for r in readings], pa.string()),
            }
        ),
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {target} AS
        WITH v AS (SELECT r.*, p.name_py, p.surname_py,
            r.id18 IS NOT NULL AND xl_check_char(r.id18) = substring(r.id18, 18, 1) AS id_valid
          FROM _roles r LEFT JOIN _pinyin p USING (name_cp)),
        w AS (SELECT *,
          COALESCE(CASE WHEN id_valid THEN TRY_STRPTIME(substring(id18, 7, 8), '%Y%m%d')::DATE END, given_birth) AS dob
          FROM v)
        SELECT unique_id, source_dataset, name_cp, name_py, surname_py, id18,
          substring(id18, 1, 17) AS id_body,
          array_to_string(list_sort(string_split(substring(id18, 1, 17), '')), '') AS id_sorted,
          substring(id18, 1, 14) AS id_area_birth,
          dob AS birth_date, year(dob) AS birth_year,
          COALESCE(given_sex, CASE WHEN id_valid
            THEN CASE WHEN CAST(substring(id18, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END END) AS sex,
          phone, address_code, postcode, other_id
        FROM w"""
    )
    con.unregister("_pinyin")
    con.execute("DROP TABLE _roles")
    return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]

"""The linkage model, authored once: comparisons made for Chinese data and near-linear blocking rules.

Each comparison is a splink ``CustomComparison`` whose levels are SQL over the columns of
:mod:`linkage.features`; the few things DuckDB cannot say in one expression (an edit distance on code
points) are macros installed on the connection splink runs on. Levels go from the most to the least
specific; splink learns a match weight for each.
"""

from __future__ import annotations

import duckdb

COMPARISON_MACROS = r"""
CREATE OR REPLACE TEMP MACRO xl_edit1(a, b) AS CASE
  WHEN length(a) = length(b) THEN list_sum(list_transform(range(1, length(a) + 1),
    lambda i: CAST(substring(a, i, 1) <> substring(b, i, 1) AS INTEGER))) = 1
  WHEN length(a) = length(b) + 1 THEN list_bool_or(list_transform(range(1, length(a) + 1),
    lambda i: substring(a, 1, i - 1) || substring(a, i + 1) = b))
  WHEN length(b) = length(a) + 1 THEN list_bool_or(list_transform(range(1, length(b) + 1),
    lambda i: substring(b, 1, i - 1) || substring(b, i + 1) = a))
  ELSE false END;
CREATE OR REPLACE TEMP MACRO xl_swapped_dm(a, b) AS
  year(a) = year(b) AND month(a) = day(b) AND day(a) = month(b) AND month(a) <> day(a);
"""

# Blocking rules for predictions, by name (the name is what ``person_link.match_rule`` records).
BLOCKING_RULES = {
    "id": "l.id18 = r.id18",
    # a number with two digits swapped or one digit off, the name's surname kept: alone, either key pairs
    # a county's people born on one day (or with one multiset of digits) with each other, which grows
    # with the square of the population
    "id_digits": "l.id_sorted = r.id_sorted AND l.surname_py = r.surname_py",
    "id_area_birth": "l.id_area_birth = r.id_area_birth AND l.surname_py = r.surname_py",
    "pinyin_birth_year": "l.name_py = r.name_py AND l.birth_year = r.birth_year",
    "surname_birth_date": "l.surname_py = r.surname_py AND l.birth_date = r.birth_date",
    "phone": "l.phone = r.phone",
    "address_surname": "l.address_code = r.address_code AND l.surname_py = r.surname_py",
    "other_id": "l.other_id = r.other_id",
}
DETERMINISTIC = ["l.id18 = r.id18 AND l.name_cp = r.name_cp"]
# ID levels of two numbers that hold one birth date, the records' birth dates agreeing too: the model
# counts that agreement apart, and two people born on one day in one county have numbers this close all
# the time. Their u is therefore measured among pairs born on one day (engine.train), not among random
# pairs. (A number whose check character fails gives no birth date: its pair falls to the next level.)
SAME_BIRTH = ("two digits swapped, same birth date", "one digit off, same birth date")
_BIRTH = "substring(id_body_l, 7, 8) = substring(id_body_r, 7, 8) AND birth_date_l = birth_date_r"
# A pair with no ID number on one side (a health record taken without one) has only its name, birth date
# and sex to join on, and such records are the sloppy ones: a homophone or a typo is far commoner among
# them than among records that carry an ID. Fuzzy levels therefore come twice, with and without an ID to
# compare, so the model learns their weight where it matters instead of averaging it over every pair
# (averaged, a homophone among a million people weighs less than the chance of two strangers sharing a
# birth date, and no record without an ID ever joins on one).
NO_ID = "(id18_l IS NULL OR id18_r IS NULL)"


def _twice(label: str, sql: str) -> list[tuple[str, str]]:
    """The level split by whether the pair has an ID number to compare (see :data:`NO_ID`)."""
    return [(f"{label}, no ID to compare", f"{sql} AND {NO_ID}"), (label, sql)]


def install_comparison_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(COMPARISON_MACROS)


def _levels(column: str, levels: list[tuple[str, str]], tf: str | None = None) -> list:
    import splink.comparison_level_library as cll

    out = [cll.NullLevel(column)]
    for label, sql in levels:
        level = cll.CustomLevel(sql, label_for_charts=label)
        if tf and label == "exact":
            level = cll.ExactMatchLevel(tf, term_frequency_adjustments=True)
        out.append(level)
    out.append(cll.ElseLevel())
    return out


def comparisons() -> list:
    """The comparisons of the lake model and of ``xgate link file``."""
    import splink.comparison_library as cl

    return [
        cl.CustomComparison(
            _levels(
                "name_cp",
                [
                    ("exact", "name_cp_l = name_cp_r"),
                    *_twice("homophone (same pinyin)", "name_py_l = name_py_r"),
                    *_twice(
                        "one character off (3+ characters)",
                        "length(name_cp_l) >= 3 AND length(name_cp_r) >= 3 AND xl_edit1(name_cp_l, name_cp_r)",
                    ),
                    ("one character off (short names)", "xl_edit1(name_cp_l, name_cp_r)"),
                    (
                        "same surname, pinyin close",
                        "surname_py_l = surname_py_r AND jaro_winkler_similarity(name_py_l, name_py_r) >= 0.88",
                    ),
                ],
                tf="name_cp",
            ),
            output_column_name="name",
        ),
        cl.CustomComparison(
            _levels(
                "id18",
                [
                    ("exact", "id18_l = id18_r"),
                    (SAME_BIRTH[0], f"hamming(id_body_l, id_body_r) = 2 AND id_sorted_l = id_sorted_r AND {_BIRTH}"),
                    ("two digits swapped", "hamming(id_body_l, id_body_r) = 2 AND id_sorted_l = id_sorted_r"),
                    (SAME_BIRTH[1], f"hamming(id_body_l, id_body_r) = 1 AND {_BIRTH}"),
                    ("one digit off", "hamming(id_body_l, id_body_r) = 1"),
                ],
            ),
            output_column_name="id_number",
        ),
        cl.CustomComparison(
            _levels(
                "birth_date",
                [
                    ("exact", "birth_date_l = birth_date_r"),
                    *_twice("day and month swapped", "xl_swapped_dm(birth_date_l, birth_date_r)"),
                    (
                        "same year and month",
                        "year(birth_date_l) = year(birth_date_r) AND month(birth_date_l) = month(birth_date_r)",
                    ),
                    ("same year", "birth_year_l = birth_year_r"),
                ],
            ),
            output_column_name="birth_date",
        ),
        cl.CustomComparison(_levels("sex", [("exact", "sex_l = sex_r")]), output_column_name="sex"),
        cl.CustomComparison(
            _levels("phone", [("exact", "phone_l = phone_r"), ("one digit off", "hamming(phone_l, phone_r) = 1")]),
            output_column_name="phone",
        ),
        cl.CustomComparison(
            _levels(
                "address_code",
                [
                    ("exact", "address_code_l = address_code_r"),
                    ("same building", "substring(address_code_l, 1, 19) = substring(address_code_r, 1, 19)"),
                    ("same road", "substring(address_code_l, 1, 12) = substring(address_code_r, 1, 12)"),
                    ("same sub-district", "substring(address_code_l, 1, 9) = substring(address_code_r, 1, 9)"),
                ],
            ),
            output_column_name="address",
        ),
        cl.CustomComparison(_levels("postcode", [("exact", "postcode_l = postcode_r")]), output_column_name="postcode"),
        cl.CustomComparison(_levels("other_id", [("exact", "other_id_l = other_id_r")]), output_column_name="other_id"),
    ]


def settings(link_type: str = "dedupe_only", rules: dict[str, str] | None = None):
    """Splink settings of the model: comparisons, blocking rules, and the columns kept for explanations."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type=link_type,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=list((rules or BLOCKING_RULES).values()),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
        max_iterations=20,
    )

"""xgate's domain checks as custom Great Expectations (GX 1.x: a map metric plus a ColumnMapExpectation).

Each check has two partials: SQL (the DuckDB macro from :mod:`contracts.sql`, run in one columnar pass)
and pandas (python-stdnum and plain Python), so a suite runs on either engine. Registering a class is
what makes GX know the expectation; :data:`EXPECTATIONS` maps our check names to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from great_expectations.execution_engine import PandasExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial
from stdnum.cn import ric, uscc

from contracts.sql import CHECK_MACROS, FULLWIDTH_FROM

_MOBILE = re.compile(r"1[3-9]\d{9}")
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _parses(value: str) -> bool:
    return any(pd.to_datetime(value, format=f, errors="coerce") is not pd.NaT for f in _DATE_FORMATS)


PANDAS_OK: dict[str, Callable[[str], bool]] = {
    "resident_id": lambda v: len(v) == 18 and ric.is_valid(v),
    "party_id": lambda v: (len(v) == 18 and ric.is_valid(v)) or uscc.is_valid(v),
    "credit_code": uscc.is_valid,
    "mobile_phone": lambda v: bool(_MOBILE.fullmatch(v)),
    "date": _parses,
    "legacy_id": lambda v: not re.fullmatch(r"\d{15}", v.strip()),
    "fullwidth": lambda v: not any(c in FULLWIDTH_FROM for c in v),
}


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def _register(check: str) -> type[ColumnMapExpectation]:
    metric = f"column_values.xgate_{check}"
    macro, pandas_ok = CHECK_MACROS[check], PANDAS_OK[check]

    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        return column.map(lambda v: pandas_ok(str(v)))

    def _sqlalchemy(cls, column, **kwargs):
        return getattr(sa.func, macro)(column)

    type(
        f"ColumnValuesXgate{_camel(check)}",
        (ColumnMapMetricProvider,),
        {
            "condition_metric_name": metric,
            "_pandas": column_condition_partial(engine=PandasExecutionEngine)(_pandas),
            "_sqlalchemy": column_condition_partial(engine=SqlAlchemyExecutionEngine)(_sqlalchemy),
        },
    )
    return type(
        f"ExpectColumnValuesToPassXgate{_camel(check)}",
        (ColumnMapExpectation,),
        {
            "__module__": __name__,
            "__doc__": f"Expect column values to pass xgate's {check} check.",
            "map_metric": metric,
            "success_keys": ("mostly",),
        },
    )


EXPECTATIONS: dict[str, type[ColumnMapExpectation]] = {check: _register(check) for check in CHECK_MACROS}

"""A contract compiled to an engine-neutral list of checks (datacontract-cli style).

Nothing here knows Great Expectations: a :class:`Check` is a name from :data:`CHECKS`, a field, a
severity and arguments, keyed ``dataset__field__check``. ``contracts.engine`` turns the list into a
GX suite; anything else (a plain SQL engine, a report) can read the same list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from contracts.loader import ContractError, _line_of, contract_paths, paths_by_dataset, read_contract

Severity = Literal["error", "warn"]
# check name -> what it means; the only checks a contract may name.
CHECKS = {
    "not_null": "value present (required)",
    "unique": "no two rows share the value (unique / primary key)",
    "in_set": "value in an allowed list",
    "pattern": "value matches a regular expression",
    "between": "value within [min, max]",
    "type": "value has the field's logical type",
    "resident_id": "valid 18-character resident ID: check character, birth date, GB/T 2260 area code",
    "party_id": "a valid resident ID or unified social credit code",
    "credit_code": "valid unified social credit code (GB 32100)",
    "mobile_phone": "11-digit mainland mobile number after normalisation",
    "date": "a date in one of the accepted formats",
    "id_birth_date": "birth date agrees with the ID number",
    "id_sex": "sex agrees with the ID number's sex digit",
    "legacy_id": "15-digit legacy ID (upgraded to 18 by normalisation)",
    "fullwidth": "full-width digits or letters in the value as sent",
    "unique_active": "one active row per value",
    "references": "value exists in another dataset",
}
NORMALISERS = ("fullwidth", "trim", "upper", "phone", "date", "legacy_id")
PERSON_ID_CHECKS = ("resident_id", "party_id", "legacy_id")  # a field these check holds a person's ID number
SLA_UNIT_HOURS = {
    "h": 1,
    "hour": 1,
    "hours": 1,
    "d": 24,
    "day": 24,
    "days": 24,
    "w": 168,
    "week": 168,
    "weeks": 168,
    "month": 720,
    "months": 720,
    "y": 8760,
    "year": 8760,
    "years": 8760,
}
LOGICAL_TYPES = {"string", "date", "timestamp", "integer", "number", "boolean"}
# ODCS threshold operators on a rule's metric (its failing rows, or their percent of the rows checked)
THRESHOLDS = {
    "mustBe": lambda m, v: m == v,
    "mustNotBe": lambda m, v: m != v,
    "mustBeGreaterThan": lambda m, v: m > v,
    "mustBeGreaterOrEqualTo": lambda m, v: m >= v,
    "mustBeLessThan": lambda m, v: m < v,
    "mustBeLessOrEqualTo": lambda m, v: m <= v,
    "mustBeBetween": lambda m, v: v[0] <= m <= v[1],
    "mustNotBeBetween": lambda m, v: not v[0] <= m <= v[1],
}


@dataclass(frozen=True)
class Check:
    """One rule. Its failing rows are quarantined (error) or noted (warn); with an ODCS ``threshold``
    (``mustBe: 0``, ``mustBeLessThan: 1`` with ``unit: percent`` ...) the rule as a whole also passes or
    fails on the batch, and a failed ``error`` rule holds the batch."""

    dataset: str
    field: str
    name: str
    severity: Severity = "error"
    args: tuple[tuple[str, Any], ...] = ()
    threshold: tuple[str, Any] | None = None  # (operator, value)
    unit: Literal["rows", "percent"] = "rows"

    def metric(self, failed: int, checked: int) -> float:
        return failed if self.unit == "rows" else (100.0 * failed / checked if checked else 0.0)

    def meets(self, failed: int, checked: int) -> bool:
        """Whether the batch's failing rows satisfy the threshold (always, without one)."""
        return self.threshold is None or THRESHOLDS[self.threshold[0]](self.metric(failed, checked), self.threshold[1])

    def describe_threshold(self) -> str:
        if self.threshold is None:
            return ""
        operator, value = self.threshold
        return f"{operator} {list(value) if isinstance(value, tuple) else value} {self.unit}"

    @property
    def key(self) -> str:
        return f"{self.dataset}__{self.field}__{self.name}"

    @property
    def arg(self) -> dict[str, Any]:
        return dict(self.args)


@dataclass(frozen=True)
class Field:
    name: str
    logical_type: str
    required: bool
    classification: str
    sharing: str
    normalise: tuple[str, ...] = ()


@dataclass
class Contract:
    id: str
    version: str
    department: str
    source: str
    path: Path
    fields: dict[str, Field]
    primary_key: str
    checks: list[Check]
    error_threshold: float = 0.05
    schema_drift: Literal["evolve", "freeze", "drop"] = "evolve"
    freshness: timedelta | None = None
    freshness_field: str | None = None

    @property
    def person_ids(self) -> tuple[str, ...]:
        """Fields holding a person's ID number (checked as one), in the contract's order."""
        checked = {c.field for c in self.checks if c.name in PERSON_ID_CHECKS}
        return tuple(name for name in self.fields if name in checked)

    @property
    def stored_order(self) -> str | None:
        """The field a landed batch is written in order of, so a look-up of one person reads one row group of
        each file: the person's ID number where there is one (and only one), else the field that references
        another dataset's record (an encounter's patient), else none."""
        if len(self.person_ids) == 1:
            return self.person_ids[0]
        return next((c.field for c in self.checks if c.name == "references"), None)


def _custom(props: list | None) -> dict[str, Any]:
    return {p.property: p.value for p in props or [] if p.property}


def _threshold(q: Any, fail) -> dict[str, Any]:
    """The rule's ODCS threshold and unit, as Check fields."""
    given = [(op, getattr(q, op)) for op in THRESHOLDS if getattr(q, op, None) is not None]  # ODCS allows one
    unit = (q.unit or "rows").lower()
    if unit not in ("rows", "percent"):
        fail(f"threshold unit must be rows or percent, not {q.unit!r}")
    if not given:
        return {"unit": unit}
    operator, value = given[0]
    if operator.endswith("Between"):  # ODCS checks it is [low, high]
        value = tuple(value)
    return {"threshold": (operator, value), "unit": unit}


def _quality_check(dataset: str, name: str, q: Any, fail) -> Check:
    severity = (q.severity or "error").lower()
    if severity not in ("error", "warn"):
        fail(f"severity must be error or warn, not {q.severity!r}")
    limit = _threshold(q, fail)
    if q.type == "custom":
        if (q.engine or "").lower() != "xgate":
            fail(f"custom quality needs engine: xgate (got {q.engine!r})")
        spec = q.implementation if isinstance(q.implementation, dict) else {"check": q.implementation}
        check = spec.get("check")
        if check not in CHECKS:
            fail(f"unknown check {check!r}; known: {', '.join(CHECKS)}")
        args = tuple(sorted((k, v if not isinstance(v, list) else tuple(v)) for k, v in spec.items() if k != "check"))
        return Check(dataset, name, check, severity, args, **limit)
    if q.type in (None, "library"):
        metric = q.metric or q.rule
        arguments = q.arguments or {}
        if metric == "invalidValues" and "validValues" in arguments:
            return Check(dataset, name, "in_set", severity, (("values", tuple(arguments["validValues"])),), **limit)
        if metric == "invalidValues" and "pattern" in arguments:
            try:
                re.compile(str(arguments["pattern"]))
            except re.error as exc:
                fail(f"invalid regex {arguments['pattern']!r}: {exc}")
            return Check(dataset, name, "pattern", severity, (("regex", arguments["pattern"]),), **limit)
        if metric in ("nullValues", "missingValues"):
            return Check(dataset, name, "not_null", severity, **limit)
        if metric == "duplicateValues":
            return Check(dataset, name, "unique", severity, **limit)
        fail(f"unsupported library metric {metric!r} (with arguments {sorted(arguments)})")
    fail(f"unsupported quality type {q.type!r}")
    raise AssertionError


def _compile_field(dataset: str, prop: Any, path: Path, tree: Any, where: list) -> tuple[Field, list[Check]]:
    def fail(reason: str, at: list = where) -> None:
        raise ContractError(path, _line_of(tree, at), f"field {prop.name!r}: {reason}")

    extras = _custom(prop.customProperties)
    logical = (prop.logicalType or "string").lower()
    if logical not in LOGICAL_TYPES:
        fail(f"logicalType {prop.logicalType!r} is not one of {sorted(LOGICAL_TYPES)}")
    normalise = tuple(extras.get("normalise") or ())
    unknown = [n for n in normalise if n not in NORMALISERS]
    if unknown:
        fail(f"unknown normaliser(s) {unknown}; known: {', '.join(NORMALISERS)}")
    spec = Field(
        prop.name,
        logical,
        bool(prop.required),
        prop.classification or "internal",
        str(extras.get("sharing", "unconditional")),
        normalise,
    )
    checks = []
    if prop.required or prop.primaryKey:
        checks.append(Check(dataset, prop.name, "not_null"))
    if prop.unique or prop.primaryKey:
        checks.append(Check(dataset, prop.name, "unique"))
    if logical != "string":
        checks.append(Check(dataset, prop.name, "type", args=(("logical_type", logical),)))
    for j, quality in enumerate(prop.quality or []):
        checks.append(
            _quality_check(dataset, prop.name, quality, lambda reason, j=j: fail(reason, [*where, "quality", j]))
        )
    return spec, checks


def compile_contract(path: Path) -> Contract:
    model, tree = read_contract(path)
    if not model.schema_ or len(model.schema_) != 1:
        raise ContractError(path, _line_of(tree, ["schema"]), "a contract describes exactly one dataset (one schema)")
    obj = model.schema_[0]
    dataset = model.id or ""
    for j, rule in enumerate(obj.quality or []):
        raise ContractError(
            path,
            _line_of(tree, ["schema", 0, "quality", j]),
            f"schema-level quality rule (type {rule.type!r}) is not run by xgate: declare it on a field",
        )
    custom = _custom(model.customProperties)
    fields: dict[str, Field] = {}
    checks: list[Check] = []
    primary_key = None
    for i, prop in enumerate(obj.properties or []):
        spec, found = _compile_field(dataset, prop, path, tree, ["schema", 0, "properties", i])
        fields[prop.name] = spec
        checks += found
        if prop.primaryKey:
            primary_key = prop.name
    seen: set[str] = set()
    for check in checks:
        if check.key in seen:
            raise ContractError(
                path,
                field_line_in(tree, obj, check.field),
                f"{check.key} is declared twice (required/unique already add not_null/unique)",
            )
        seen.add(check.key)
    for check in checks:
        for key in ("id_field", "status_field"):
            if key in check.arg and check.arg[key] not in fields:
                raise ContractError(path, 1, f"{check.key}: {key} {check.arg[key]!r} is not a field")
    if primary_key is None:
        raise ContractError(path, _line_of(tree, ["schema", 0]), "no field is marked primaryKey")
    freshness, freshness_field = None, None
    for i, sla in enumerate(model.slaProperties or []):
        if sla.property == "freshness":
            hours = SLA_UNIT_HOURS.get((sla.unit or "d").lower())
            if hours is None:
                raise ContractError(
                    path,
                    _line_of(tree, ["slaProperties", i]),
                    f"freshness unit {sla.unit!r} is not one of {', '.join(SLA_UNIT_HOURS)}",
                )
            freshness = timedelta(hours=hours * float(sla.value))
            freshness_field = (sla.element or "").rsplit(".", 1)[-1] or None
            if sla.element and (freshness_field not in fields or sla.element not in (freshness_field,
                                f"{dataset}.{freshness_field}", f"{obj.name}.{freshness_field}")):  # fmt: skip
                raise ContractError(
                    path,
                    _line_of(tree, ["slaProperties", i]),
                    f"SLA element {sla.element!r} is not a field of {dataset} (write {dataset}.<field>)",
                )
    drift = custom.get("schemaDrift", "evolve")
    if drift not in ("evolve", "freeze", "drop"):
        raise ContractError(
            path, _line_of(tree, ["customProperties"]), f"schemaDrift {drift!r} is not evolve, freeze or drop"
        )
    try:
        threshold = float(custom.get("errorThreshold", 0.05))
    except (TypeError, ValueError):
        threshold = -1.0
    if not 0 <= threshold <= 1:
        raise ContractError(
            path,
            _line_of(tree, ["customProperties"]),
            f"errorThreshold must be a share between 0 and 1, not {custom.get('errorThreshold')!r}",
        )
    return Contract(
        id=dataset,
        version=model.version or "0",
        department=model.domain or "",
        path=path,
        source=str(custom.get("source", dataset)),
        fields=fields,
        primary_key=primary_key,
        checks=checks,
        error_threshold=float(custom.get("errorThreshold", 0.05)),
        schema_drift=custom.get("schemaDrift", "evolve"),
        freshness=freshness,
        freshness_field=freshness_field,
    )


def field_line_in(tree: Any, obj: Any, name: str) -> int:
    names = [p.name for p in obj.properties or []]
    return _line_of(tree, ["schema", 0, "properties", names.index(name)]) if name in names else 1


def field_line(contract: Contract, name: str) -> int:
    """Line of a field's declaration in the contract file (for messages about it)."""
    _, tree = read_contract(contract.path)
    names = [
        p.get("name")
        for p in (yaml.safe_load(contract.path.read_text(encoding="utf-8"))["schema"][0].get("properties") or [])
    ]
    return _line_of(tree, ["schema", 0, "properties", names.index(name)]) if name in names else 1


@cache
def contracts(folder: Path | None = None) -> dict[str, Contract]:
    """Every contract by dataset id, each checked whole: its references name known datasets and fields."""
    known = {c.id: c for c in map(compile_contract, contract_paths(folder))}
    for contract in known.values():
        check_references(contract, known)
    return known


def contract(dataset: str, folder: Path | None = None) -> Contract:
    """One dataset's contract, checked whole like ``contracts()`` but reading only it and the datasets its
    ``references`` rules name: what a one-file ``xgate validate`` needs, in a fraction of the time."""
    from xgate.errors import ConfigError

    paths = paths_by_dataset(folder)
    if dataset not in paths:
        raise ConfigError(f"unknown contract {dataset!r}; known: {', '.join(sorted(paths))}")
    found = compile_contract(paths[dataset])
    named = {c.arg.get("dataset") for c in found.checks if c.name == "references"} - {found.id}
    known = {found.id: found} | {name: compile_contract(paths[name]) for name in named if name in paths}
    check_references(found, known)
    return found


def check_references(contract: Contract, known: dict[str, Contract]) -> None:
    """A ``references`` rule must name a dataset that has a contract, and a field of it."""
    for check in contract.checks:
        if check.name != "references":
            continue
        dataset, name = check.arg.get("dataset"), check.arg.get("field")
        if dataset not in known:
            raise ContractError(
                contract.path, field_line(contract, check.field), f"{check.key}: references unknown dataset {dataset!r}"
            )
        if name not in known[dataset].fields:
            raise ContractError(
                contract.path,
                field_line(contract, check.field),
                f"{check.key}: references {dataset}.{name}, which is not a field of {dataset}",
            )


def check_files(paths: list[Path]) -> list[ContractError]:
    """Every problem of these contract files (one per file: the first), the shipped contracts as the
    datasets their references may name."""
    problems, compiled = [], {}
    for path in paths:
        try:
            compiled[path] = compile_contract(path)
        except ContractError as exc:
            problems.append(exc)
    known = {c.id: c for c in map(compile_contract, contract_paths())} | {c.id: c for c in compiled.values()}
    for contract in compiled.values():
        try:
            check_references(contract, known)
        except ContractError as exc:
            problems.append(exc)
    return problems


def for_source(source: str, stream: str, folder: Path | None = None) -> Contract:
    """The contract governing a connector stream (its ``source`` custom property names it)."""
    from xgate.errors import ConfigError

    for contract in contracts(folder).values():
        if contract.source == f"{source}.{stream}":
            return contract
    raise ConfigError(f"no contract for {source}.{stream}; add one to contracts/datasets/")

"""The one contract loader: ODCS v3 YAML read and checked with the ``open-data-contract-standard`` package.

A contract is refused, with file, line and reason, when it does not validate against the ODCS JSON
Schema the package ships, when the package's model rejects it, or when it names a check, a metric or
a field that xgate does not know.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from xgate.errors import ConfigError

if TYPE_CHECKING:
    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard

CONTRACTS_DIR = Path(__file__).parent / "datasets"
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster


def _valid_marker(text: str) -> Path:
    """Where the fact that this exact contract text passed the ODCS schema is kept (per OS account)."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{version('open-data-contract-standard')}\n{text}".encode()).hexdigest()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "xgate" / "odcs-valid" / digest


@cache
def _schema_validator() -> jsonschema.Draft201909Validator:
    import jsonschema

    schema = json.loads(files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _line_of(node: yaml.Node, path: list) -> int:
    """1-based line of the YAML node at a JSON path (the deepest node that exists)."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            match = node.value[step]
        else:
            match = None
        if match is None:
            break
        node = match
    return node.start_mark.line + 1


class ContractError(ConfigError):
    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def read_contract(path: Path) -> tuple[OpenDataContractStandard, yaml.Node]:
    """Parse and validate one contract file; returns the ODCS model and the YAML tree (for line numbers)."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = yaml.compose(text, Loader=YAML_LOADER)
        data = yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContractError(path, mark.line + 1 if mark else 1, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(path, 1, "a contract is a YAML mapping")
    seen = _valid_marker(text)
    if not seen.exists():  # the ODCS JSON Schema check (jsonschema: a third of a one-file validate) once per text
        errors = sorted(_schema_validator().iter_errors(data), key=lambda e: len(e.absolute_path))
        if errors:
            first = errors[0]
            where = ".".join(map(str, first.absolute_path)) or "contract"
            raise ContractError(
                path, _line_of(tree, list(first.absolute_path)), f"not valid ODCS v3 at {where}: {first.message[:300]}"
            )
        with contextlib.suppress(OSError):  # a read-only home only costs the next run the check
            seen.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            seen.touch(mode=0o600)
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError

    try:
        return OpenDataContractStandard.model_validate(data), tree
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ContractError(path, _line_of(tree, list(first["loc"])), f"{first['msg']}") from None


def contract_paths(folder: Path | None = None) -> list[Path]:
    return sorted((folder or CONTRACTS_DIR).glob("*.yaml"))


def _headlines(folder: Path | None) -> list[tuple[Path, dict]]:
    """(path, top-level mapping) of every contract file, read from the YAML alone (no schema check)."""
    found = []
    for path in contract_paths(folder):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
        if isinstance(data, dict) and "id" in data:
            found.append((path, data))
    return found


def paths_by_dataset(folder: Path | None = None) -> dict[str, Path]:
    """Dataset id -> contract file, so one contract can be checked without checking them all."""
    return {str(data["id"]): path for path, data in _headlines(folder)}


def datasets_by_stream(folder: Path | None = None) -> dict[str, str]:
    """``source.stream`` -> dataset id, read from the YAML alone.

    Cheap enough for Airflow's DAG parsing, which needs only the names; a contract is fully checked
    when a batch is validated against it.
    """
    index = {}
    for _, data in _headlines(folder):
        custom = {p.get("property"): p.get("value") for p in data.get("customProperties") or [] if isinstance(p, dict)}
        index[str(custom.get("source", data["id"]))] = str(data["id"])
    return index

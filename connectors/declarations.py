"""Source declarations: what to pull, not how. One YAML file per department system in ``sources/``.

A stream names its primary key, its cursor (the source's modification time), its write mode and how
to find it (an API path, a FHIR resource, a table, a file pattern). The shared clients do the rest.
Declarations are validated on load; a bad one is refused with its file and the reason.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xgate.errors import ConfigError

SOURCES_DIR = Path(__file__).parent / "sources"
Kind = Literal["rest", "fhir", "sql", "files"]


class Stream(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    primary_key: str
    cursor_field: str | None = Field(None, description="modification time; none for file drops")
    write_mode: Literal["merge", "append", "replace"] = "merge"
    page_size: int = Field(5000, ge=1, le=100_000)
    lookback: timedelta = Field(timedelta(hours=72), description="re-read window for late-arriving updates")
    # rest
    path: str | None = None
    records_key: str = "data"
    next_key: str = "next_cursor"
    params: dict[str, str] = Field(
        default_factory=lambda: {"since": "updated_since", "until": "updated_before", "page": "cursor", "size": "limit"}
    )
    # fhir
    resource: str | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="column -> path in the resource")
    # sql
    table: str | None = None
    # files
    patterns: tuple[str, ...] = ()
    columns: dict[str, str] = Field(default_factory=dict, description="header in the file -> column")


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Kind
    department: str
    description: str = ""
    connection: str = Field(description="name of the connection holding URL and credentials")
    schedule: str = Field("@daily", description="cron expression or preset for the source's Airflow DAG")
    owner: str = "data-engineering"
    retries: int = Field(3, ge=2, description="task retries before a sync fails (at least 2; backoff doubles)")
    retry_delay: timedelta = Field(timedelta(minutes=2), description="first wait before a retry")
    streams: tuple[Stream, ...]

    @model_validator(mode="after")
    def _streams_fit_kind(self) -> Source:
        needs = {"rest": "path", "fhir": "resource", "sql": "table", "files": "patterns"}[self.kind]
        for stream in self.streams:
            if not getattr(stream, needs):
                raise ValueError(f"stream {stream.name!r} of a {self.kind} source needs '{needs}'")
            if self.kind != "files" and not stream.cursor_field:
                raise ValueError(f"stream {stream.name!r} needs a cursor_field for incremental reads")
        if len({s.name for s in self.streams}) != len(self.streams):
            raise ValueError("stream names must be unique")
        return self

    def stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise ConfigError(f"source {self.name!r} has no stream {name!r}; it has {[s.name for s in self.streams]}")


def load_source(path: Path) -> Source:
    """A declaration file; it is named after its source (``<name>.yaml``), so one source is found alone."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        declared = Source.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'source'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {reasons}") from None
    if declared.name != path.stem:
        raise ConfigError(f"{path}: declares source {declared.name!r}; name the file {declared.name}.yaml")
    return declared


SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@cache
def sources(folder: Path | None = None) -> dict[str, Source]:
    """Every declared source, by name (``folder`` defaults to the built-in declarations)."""
    found = {}
    for path in sorted((folder or SOURCES_DIR).glob("*.yaml")):
        source = load_source(path)
        found[source.name] = source
    return found


def source(name: str, folder: Path | None = None) -> Source:
    """One source, read from its own file: a broken declaration of another source does not stop it."""
    folder = folder or SOURCES_DIR
    if not SOURCE_NAME.fullmatch(name):  # a name, never a path: nothing is read from outside the folder
        raise ConfigError(f"unknown source {name[:40]!r}: a source name is lower-case letters, digits and _")
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(f"unknown source {name!r}; declared: {', '.join(known)}")
    return load_source(path)

"""HL7 FHIR R4 searches as servers really answer them: searchset Bundles followed by their ``next``
links, ``_lastUpdated`` windows, and columns declared as FHIRPath expressions (fhirpathpy, with the R4
model, so choice types work): ``deceased.ofType(dateTime)``, ``identifier.where(system='...').value``,
``name.where(use='official').text``, ``subject.reference.replaceMatches('^.*/', '')``. A column takes
the expression's first value. Entries of another type (``_include``) are left out; an OperationOutcome
in a Bundle with an error or fatal issue stops the read with its message (warnings pass). With
``bulk: true`` the stream is pulled by a Bulk Data ``$export`` instead (:mod:`connectors.fhir_bulk`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

from connectors.declarations import Source, Stream
from connectors.http import HttpClient, outcome_issues
from connectors.reader import Bounds, Chunk, prefetched
from connectors.records import iso, json_table
from xgate.errors import ConfigError, SourceRefused
from xgate.settings import Connection, Settings

SERIOUS = ("error", "fatal")


@cache
def fhirpath(expression: str) -> Callable[[dict], list]:
    """An expression compiled once against the R4 model; a syntax error is a ValueError saying where."""
    from antlr4 import CommonTokenStream, InputStream, Token
    from antlr4.error.ErrorListener import ErrorListener
    from fhirpathpy import compile as compile_fhirpath
    from fhirpathpy.models import models
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    class Refuse(ErrorListener):  # fhirpathpy's own parser recovers silently from syntax errors
        def syntaxError(self, recognizer, symbol, line, column, message, error) -> None:
            raise ValueError(f"at column {column}: {message}")

    lexer = FHIRPathLexer(InputStream(expression))
    parser = FHIRPathParser(CommonTokenStream(lexer))
    for part in (lexer, parser):
        part.removeErrorListeners()
        part.addErrorListener(Refuse())
    parser.expression()
    if parser.getCurrentToken().type != Token.EOF:
        raise ValueError(f"at column {parser.getCurrentToken().column}: unexpected {parser.getCurrentToken().text!r}")
    return compile_fhirpath(expression, models["r4"])


class FhirReader:
    def __init__(self, source: Source, stream: Stream, connection: Connection, settings: Settings) -> None:
        self.stream = stream
        self.where = f"{source.name}/{stream.name}"
        self.columns = {}
        for column, expression in stream.fields.items():
            try:
                self.columns[column] = fhirpath(expression)
            except ValueError as exc:
                raise ConfigError(f"{self.where}: field {column!r} is not a FHIRPath expression ({exc})") from None
        auth = source.auth.build(connection, source.connection)
        self.client = HttpClient(connection, settings, self.where, auth, source.headers)

    def flatten(self, resource: dict) -> dict:
        row = {}
        for column, evaluate in self.columns.items():
            found = evaluate(resource)
            value = found[0] if found else None
            row[column] = value if value is None or isinstance(value, str | bool | int | float | dict) else str(value)
        return row

    def read(self, bounds: Bounds) -> Iterator[Chunk]:
        if self.stream.bulk:
            from connectors.fhir_bulk import export

            pages = export(self.client, self.stream, bounds, self.where)
        else:
            pages = self._search(bounds)
        for origin, resources in prefetched(pages):
            rows, kinds = json_table([self.flatten(r) for r in resources])
            yield Chunk(rows, origin, kinds)

    def _search(self, bounds: Bounds) -> Iterator[tuple[str, list[dict]]]:
        params: list[tuple[str, object]] = [("_count", self.stream.page_size)]
        if bounds.since:
            params.append(("_lastUpdated", f"ge{iso(bounds.since)}"))
        if bounds.until:
            params.append(("_lastUpdated", f"lt{iso(bounds.until)}"))
        url: str | None = f"/{self.stream.resource}"
        page = 1
        while url:
            bundle = self.client.get(url, params if page == 1 else None, page).body or {}
            yield f"page={page}", self._resources(bundle, page)
            url = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
            page += 1

    def _resources(self, bundle: dict, page: int) -> list[dict]:
        """The page's resources of the stream's type; an OperationOutcome with errors stops the read."""
        entries = [e["resource"] for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]
        if bundle.get("resourceType") == "OperationOutcome":
            entries = [bundle]
        elif bundle.get("resourceType") != "Bundle":
            raise SourceRefused(
                f"{self.where} page {page}: expected a searchset Bundle, got {bundle.get('resourceType')!r}"
            )
        for resource in entries:
            problems = outcome_issues(resource, SERIOUS) if resource.get("resourceType") == "OperationOutcome" else ""
            if problems:
                raise SourceRefused(f"{self.where} page {page}: OperationOutcome {problems}")
        return [r for r in entries if r.get("resourceType") == self.stream.resource]

    def close(self) -> None:
        self.client.close()

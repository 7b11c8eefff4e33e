"""Every xgate error, grouped by what the caller should do about it.

Mirrors the Singer SDK's split: a *fatal* error needs a person (bad config, bad argument, a broken
contract, credentials a source refuses, a path it does not have); a *retriable* one may pass by itself
(timeouts, 429, 5xx, a dropped connection, a server that is down); a *skippable* one concerns one record
or file, which is set aside with its reason while the rest goes on. The class drives behaviour: the
HTTP client retries only retriable faults, and an Airflow task fails at once on a fatal one (see
``orchestration.factory.RETRY_POLICY``). The CLI turns any ``XgateError`` into a one-line message and a
non-zero exit, never a traceback. The exit codes (README, "Exit codes") are these constants.
"""

from __future__ import annotations

import re
import unicodedata

EXIT_FAILED = 1  # a source failed (refused or unreachable), or another failure; validate: rows would be quarantined
EXIT_CONFIG = 2  # a bad argument, setting, declaration or contract
EXIT_HELD = 3  # a batch was held in quarantine as a whole (see 'xgate batches')
EXIT_REJECTED = 4  # a dropped file was rejected whole (see 'xgate batches')
EXIT_BUSY = 5  # another command held the lake or the state ledger past the wait bound
EXIT_STORAGE = 6  # the data directory cannot be written: disk full, read-only, not ours


class XgateError(Exception):
    """Base of all errors xgate raises on purpose; the message is meant for a person."""

    exit_code = 1


class FatalError(XgateError):
    """Stop: retrying will not help until someone changes configuration, input or code."""


class ConfigError(FatalError):
    """A setting, argument, declaration or contract is invalid."""

    exit_code = EXIT_CONFIG


class SourceRefused(FatalError):
    """A department system answered and said no: credentials refused (401), not allowed (403), no such
    path or table (404), or a request it rejects (400, an OperationOutcome). Asking again changes nothing."""


class RetriableError(XgateError):
    """A transient fault: the same call may succeed later."""


class SourceUnavailable(RetriableError):
    """A department system (database, API, catalog) cannot be reached now: down, timing out, dropping the
    connection, overloaded (429, 5xx). Retried with backoff; the message says what was seen."""


class Busy(RetriableError):
    """Another xgate command holds what this one needs (a file catalog, the state ledger) past the bound."""

    exit_code = EXIT_BUSY


class StorageError(FatalError):
    """The data directory cannot be written (disk full, read-only, owned by someone else)."""

    exit_code = EXIT_STORAGE


class SkippableError(XgateError):
    """One record or file is bad; it is set aside with this reason and the rest continues."""


_SECRET_WORDS = r"password|passwd|pwd|secret|client_secret|token|access_token|(?:api|access|secret|private)[_-]?key"
_VALUE = r"(\"[^\"]*\"|'[^']*'|[^\s&;,)\"']+)"
_SECRETS = (
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s]*@"), r"\1***@"),  # scheme://user:password@host
    (re.compile(rf"(?i)\b({_SECRET_WORDS})(\s*=\s*|:(?=\S)){_VALUE}"), r"\1\2***"),  # key = value, key:value
    # "password: x" in a header or YAML line (not "token: set ...", which is prose)
    (re.compile(rf"(?i)\b(password|passwd|secret|client_secret|x-api-key|api[_-]?key)(:\s+){_VALUE}"), r"\1\2***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}"), r"\1 ***"),  # an Authorization header's value
)


# digits that may be a person's number however grouped (139 1234 5678, 5104-2119-...): 11 or more digits with
# short runs of anything but letters between them, not part of a word (a batch ID, a hash); a date and time stays
_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9](?:[^0-9A-Za-z]{0,5}[0-9]){10,}[Xx]?(?![0-9A-Za-z])")
# the same written in groups against letters (tel139-1234-5678, ID542421-1992-...): a batch ID's digits are
# not in groups
_GROUPED_NUMBER = re.compile(r"(?<![0-9])[0-9]+(?:[^0-9A-Za-z]{1,5}[0-9]+)+(?![0-9])")
# a mobile or ID number written against letters (ID510421..., tel139...), exactly as long as one
_WORD_NUMBER = re.compile(r"(?<![0-9])(?:(?:86)?1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([+-][0-9:]{4,5})?$")


def shown(text: str) -> str:
    """``text`` as it may be shown or logged: passwords in URIs (``scheme://user:pw@``), ``password = x``
    in any spacing or quoting, tokens and keys in URL queries and Authorization values are cut out, and so
    is a number long enough to be a person's ID or phone (an argument echoed back: ``unknown user '139 ...'``)."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = unicodedata.normalize("NFKC", text)  # full-width digits are digits
    for pattern in (_GROUPED_NUMBER, _NUMBER):
        text = pattern.sub(_cut, text)
    return _WORD_NUMBER.sub("<number>", text)


def _cut(found: re.Match) -> str:
    """A number found, cut unless it is a date and time or too short to be a person's (11 digits or more)."""
    number = found.group(0)
    return number if _INSTANT.match(number) or sum(c.isdigit() for c in number) < 11 else "<number>"


def from_os_error(exc: OSError) -> XgateError:
    """An operating-system failure as one line: a full disk or a data directory xgate cannot write is a
    storage error (exit 6); anything else names the call and the file."""
    import errno

    where = f" ({shown(str(exc.filename))})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return StorageError(f"the disk is full{where}: free space (or move XGATE_DATA_DIR), then run again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR):
        return StorageError(
            f"cannot write{where}: {exc.strerror.lower() if exc.strerror else 'not allowed'}; XGATE_DATA_DIR must be "
            "a directory this account can write"
        )
    return XgateError(f"{exc.strerror or type(exc).__name__}{where}")


def unexpected(exc: Exception) -> XgateError:
    """A fault xgate did not foresee, as one line: its type and first line with quoted values, long numbers
    and non-ASCII text cut out (a value there may be a person's), secrets too."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "'<value>'", first)
    first = re.sub(r"[^\x00-\x7f]+", "<value>", re.sub(r"\d{4,}", "<n>", first))
    return XgateError(f"unexpected {type(exc).__name__}: {shown(first)} (run again with --debug for the traceback)")

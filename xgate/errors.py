"""Every xgate error, grouped by what the caller should do about it.

Mirrors the Singer SDK's split: a *fatal* error needs a person (bad config, bad argument, a broken
contract); a *retriable* one may pass by itself (timeouts, 429, 5xx, a dropped connection); a
*skippable* one concerns one record or file, which is set aside with its reason while the rest goes on.
The CLI turns any ``XgateError`` into a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations


class XgateError(Exception):
    """Base of all errors xgate raises on purpose; the message is meant for a person."""

    exit_code = 1


class FatalError(XgateError):
    """Stop: retrying will not help until someone changes configuration, input or code."""


class ConfigError(FatalError):
    """A setting, argument or declaration is invalid."""

    exit_code = 2


class SourceUnavailable(FatalError):
    """A department system (database, API, folder) cannot be reached or refuses us."""


class RetriableError(XgateError):
    """A transient fault: the same call may succeed later."""


class SkippableError(XgateError):
    """One record or file is bad; it is set aside with this reason and the rest continues."""

"""The pages' template environment: what was typed shows as text, never as markup or terminal-like control."""

from __future__ import annotations

from types import SimpleNamespace

from web.app import templates


def test_a_typed_bidi_override_or_escape_is_written_out_not_obeyed() -> None:
    """A query or purpose holding U+202E (which reverses how the rest of a cell reads) or an ESC sequence shows
    them as ``\\u202e`` and ``\\x1b``; markup stays text; line breaks stay line breaks (attack 4, 7)."""
    read = {"seq": 1, "time": "2026-12-03T00:00:00", "user": "investigator", "role": "investigator", "case": "C-1",
            "purpose": "trace \u202eevil", "command": "query", "outcome": "allowed", "rows": 1,
            "query": "SELECT 1 /* \x1b[8m<b>x</b> */\nFROM t"}  # fmt: skip
    html = templates.get_template("audit.html").render(
        verdict=SimpleNamespace(ok=True, records=1), who="", case="", csrf="t", reads=[read], subject=None
    )
    assert "\u202e" not in html and "\x1b" not in html
    assert "trace \\u202eevil" in html and "\\x1b[8m" in html and "&lt;b&gt;" in html

"""User text (resource names, messages, waiver fields, file names, case names) made safe for each output.

Anything a target holds is untrusted: a Namespace may be named with ANSI escapes that clear the screen
and print a fake verdict, or with a NUL that makes `junit.xml` unreadable. Each output replaces the
code points it cannot carry with a visible escape (ESC as ``\\x1b``, U+202E as ``\\u202e``), so the text
stays recognisable and nothing is silently dropped."""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape as rich_escape

# Bidi controls, and the Unicode line and paragraph separators (a reader splitting lines on them would
# see a line the text only pretends to start).
_BIDI = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# HTML forbids the C0 controls but whitespace, DEL, the C1 controls, lone surrogates and noncharacters
# such as U+FFFE/U+FFFF (a parse error, shown as U+FFFD or not at all); FF is escaped too (it hides).
_NOT_HTML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# What XML 1.0 cannot hold at all (the same C0 controls, lone surrogates, U+FFFE/U+FFFF), the DEL and
# C1 controls it only discourages, and the bidi controls: a CI page shows junit.xml's text without
# isolating it, so an override in a name would reverse the failure message around it.
_NOT_XML = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff{_BIDI}]")
# What a terminal acts on rather than shows: every C0 control but tab and newline (CR rewrites the
# line, ESC and the C1 CSI start escape sequences, BEL ends an OSC window-title sequence), and the
# bidirectional overrides and isolates that reorder what follows them.
_NOT_TERMINAL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_NOT_ONE_LINE = re.compile("[\n\t]")
# In JSON strings, what HTML forbids and JSON does not escape (DEL, C1, noncharacters, lone surrogates)
# and the bidi controls: written as JSON escapes, so the evidence reads back unchanged.
_NOT_IN_JSON_TEXT = re.compile(f"[\x7f-\x9f\ud800-\udfff\ufffe\uffff{_BIDI}]")


def visible(char: str) -> str:
    """A code point as a visible escape: ``\\x1b``, ``\\u202e``."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _visible(match: re.Match[str]) -> str:
    return visible(match.group())


def for_xml(value: Any) -> str:
    """``value`` as text XML 1.0 can carry and a CI page shows as it is (still to be escaped for
    markup)."""
    text = str(value)
    return _NOT_XML.sub(_visible, text) if _NOT_XML.search(text) else text


def for_html(value: Any) -> str:
    """``value`` with every character HTML forbids shown as a visible escape (still to be escaped for
    markup; escaping first is as good, as it leaves controls alone)."""
    text = str(value)
    # Most text is printable: one C-speed test then, instead of a regular expression per value.
    return text if text.isprintable() else _NOT_HTML.sub(_visible, text)


def for_terminal(value: Any, *, one_line: bool = False) -> str:
    """``value`` as plain text a terminal shows rather than acts on; ``one_line`` escapes newlines
    and tabs too (a resource name must not start a line of its own that looks like a verdict)."""
    text = _NOT_TERMINAL.sub(_visible, str(value))
    return _NOT_ONE_LINE.sub(_visible, text) if one_line else text


def for_rich(value: Any, *, one_line: bool = False) -> str:
    """``value`` for a rich string that is parsed as markup: ``[/bold]`` in a waiver id is text."""
    return rich_escape(for_terminal(value, one_line=one_line))


def json_bidi_escaped(text: str) -> str:
    """JSON text with bidi controls, C1 controls and noncharacters written as ``\\uXXXX`` escapes: the
    same JSON value, valid in HTML, and it cannot reorder the evidence around it (JSON escapes the C0
    controls itself)."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _NOT_IN_JSON_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)

"""Go RE2 syntax (what ``gator verify`` compiles an assertion's ``message`` with) against Python's ``re``:
``re2_syntax_error`` finds the Perl/Python constructs RE2 refuses (backreferences, lookarounds, atomic
and conditional groups, possessive quantifiers, flags other than ``imsU``, repeat counts over 1000).
Python's ``re`` is then the judge of the rest (see ``kitemark.engines.gatekeeper.compile_message_regex``).

The pattern is scanned one token at a time; each scanner returns ``(reason, next index, whether the
token was a repetition)``, since a ``+`` or ``?`` right after a repetition means something else.
"""

from __future__ import annotations

import re

_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_RE2_FLAGS = set("imsU-")
_MAX_REPEAT = 1000
_UNSUPPORTED_GROUPS = (
    ("=", "lookahead (?="),
    ("!", "negative lookahead (?!"),
    ("<=", "lookbehind (?<="),
    ("<!", "negative lookbehind (?<!"),
    (">", "atomic group (?>"),
    ("#", "comment group (?#"),
    ("(", "conditional group (?("),
    ("P=", "named backreference (?P="),
)

Scan = tuple[str | None, int, bool]


def re2_syntax_error(pattern: str) -> str | None:
    """Why Go's RE2 (``regexp.Compile``) would refuse ``pattern``, for the constructs RE2 lacks; None if
    none is found."""
    i, after_repeat = 0, False
    while i < len(pattern):
        reason, i, after_repeat = _scan(pattern, i, after_repeat)
        if reason:
            return reason
    return None


def _scan(pattern: str, i: int, after_repeat: bool) -> Scan:
    c = pattern[i]
    if c == "\\":
        return _escape_error(pattern[i + 1 : i + 2], in_class=False), i + 2, False
    if c == "[":  # a character class: groups and quantifiers mean nothing inside it
        return _scan_class(pattern, i)
    if pattern.startswith("(?", i):
        return _group_error(pattern[i + 2 :]), i + 1, False
    if c in "*+?":
        return _scan_quantifier(c, i, after_repeat)
    if c == "{" and (repeat := _REPEAT.match(pattern, i)):
        return _scan_counted(repeat)
    return None, i + 1, False


def _escape_error(escaped: str, *, in_class: bool) -> str | None:
    if not escaped:
        return None
    if escaped in "123456789" and not in_class:
        return f"backreference \\{escaped} is not supported"
    if escaped in "123456789ZuUNg":
        return f"escape \\{escaped} is not RE2 syntax"
    return None


def _scan_class(pattern: str, i: int) -> Scan:
    """From a class's ``[`` to just past its ``]`` (a leading ``]`` or ``^]`` is a literal)."""
    j = i + 1
    j += pattern[j : j + 1] == "^"
    j += pattern[j : j + 1] == "]"
    while j < len(pattern) and pattern[j] != "]":
        if pattern[j] == "\\":
            if reason := _escape_error(pattern[j + 1 : j + 2], in_class=True):
                return reason, j, False
            j += 2
        elif pattern.startswith("[:", j) and (end := pattern.find(":]", j + 2)) != -1:
            j = end + 2  # a POSIX class such as [:alpha:]
        else:
            j += 1
    return None, j + 1, False


def _group_error(rest: str) -> str | None:
    """What follows ``(?``: a named group is fine, flags must be RE2's, the rest RE2 lacks."""
    for prefix, what in _UNSUPPORTED_GROUPS:
        if rest.startswith(prefix):
            return f"{what} is not supported"
    if rest.startswith(("P<", "<")):
        return None
    flags = re.match(r"[A-Za-z-]*", rest)
    if flags and (bad := sorted(set(flags.group(0)) - _RE2_FLAGS)):
        return f"flag {''.join(bad)!r} is not supported (RE2 flags: i, m, s, U)"
    return None


def _scan_quantifier(c: str, i: int, after_repeat: bool) -> Scan:
    if after_repeat and c == "+":
        return "possessive quantifier (a repetition followed by +) is not supported", i, False
    # `*?` is a lazy quantifier, not a new repetition
    return None, i + 1, not (after_repeat and c == "?")


def _scan_counted(repeat: re.Match[str]) -> Scan:
    if any(int(x) > _MAX_REPEAT for x in (repeat[1], repeat[3]) if x):
        return f"repeat count in {repeat[0]} exceeds RE2's limit of {_MAX_REPEAT}", repeat.start(), False
    return None, repeat.end(), True

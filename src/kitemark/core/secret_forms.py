"""Secrets written inside free text (the *patterns* half of Kitemark's redaction policy,
``kitemark.core.redaction``): ``scan(text, mask)`` replaces each with ``mask(secret)``.

Forms, under a credential-like name (``kitemark.core.credential_names``):

- ``"password": "x"``, ``password = 'x'`` (quoted: the quotes' content);
- ``Password=x;``, ``export DB_TOKEN=x``, ``PGPASSWORD=x psql``, ``?token=x&``, ``--from-literal=password=x``
  (one word), and to the end of the line in INI (``password = x y``, spaces around ``=``) and Java
  properties (``spring.datasource.password=x y``, a dotted name at the start of a line);
- ``password: x``: in a configuration (the name at the start of a line of a text of several lines, after
  ``{`` or ``,``, or quoted) every word to the end of the line; elsewhere, in prose, the value is kept when
  it is two words or more that are all plain words (``Password: self-service reset``; a URL is not one)
  and is not an authorization (``Authorization: Bearer x``). One word is always redacted:
  ``secret: squirrels`` cannot be told from ``password: changeme``. A colon with no space after it is not
  an assignment: ``ghcr.io/org/secret:latest`` is an image and ``vault:8200`` a host and port;
- a YAML block scalar (``password: |``, ``>-``...) or a value on the following, more indented, lines:
  those lines, whole (``_blocks``); a mapping or list opened there is read key by key instead;
- ``--password x`` (also quoted: ``--password "x y"``), ``<password>x</password>``,
  ``{"name": "DB_PASSWORD", "value": "x"}``, and netrc's
  ``machine h login u password x``.

Whatever the name: the password of a URL (``scheme://user:pass@host``, up to the last ``@``), Oracle's
``user/pass@db`` (JDBC thin, sqlplus), PEM private keys (also base64-encoded, as in a kubeconfig's
``client-key-data``, and PGP key blocks), webhook URLs (Slack, Discord, Teams), tokens known by their form
(GitHub, GitLab, Slack, Stripe, Google, OpenAI, Hugging Face, npm, SendGrid, JWTs), AWS access key ids
and secret access keys, and passwords on command lines (``kitemark.core.command_lines``).

Every pattern starts only where a word starts, so a long word is scanned once, not once per character
(a megabyte of base64 would otherwise take seconds); the assignments are scanned key by key for the same
reason. A value that is already a marker is left as it is.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from kitemark.core import command_lines
from kitemark.core.credential_names import is_credential_name

Mask = Callable[[str], str]
MARKER = re.compile(r"<redacted(?: hmac:[0-9a-f]{8})?>")


def is_marker(text: object) -> bool:
    return isinstance(text, str) and MARKER.fullmatch(text) is not None


# A cheap test first, on the lower-cased text (3x faster than an IGNORECASE search): most strings hold
# none of these and are returned untouched.
_HINT = re.compile(
    r"pass|pwd|secret|token|key|credential|auth|connection|plaintext|kubeconfig|dockercfg|creds|dsn|webhook"
    r"|mysql|mariadb|sshpass|mongo|redis-cli|login|sqlplus|thin:|oci:|netrc|machine|</|(?<![a-z])(?:pat|sig)(?![a-z])"
    r"|://|akia|asia|aroa|aida|private|ls0tls1crudjti|hooks\.|discord"
    r"|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|(?:sk|rk)_(?:live|test)_|(?<![\w-])sk-|hf_|npm_|aiza|sg\.|eyj"
    r"|[ \t](?:-u|--user|--proxy-user)[ \t=]"
)
_AWS_SECRET_HINT = re.compile(r"[A-Za-z0-9/+]{40}")
# Switches, not secrets, under any name (`automountToken: false`, `agent-inject-token: "true"`)
SWITCHES = frozenset({"true", "false", "null", "~", "yes", "no"})

_QUOTED = r"""(?P<{q}>["'])(?P<{v}>(?:\\.|(?!(?P={q}))[^\\])*)(?P={q})"""
_NAME = r"[A-Za-z_][\w./-]*"
_KEY = rf"""(?<![\w./-])(?:--?)?(?P<kq>["']?)(?P<key>{_NAME})(?P=kq)"""
# `"password": "x"`, `password = 'x'`, `--password="x"`
_KEY_QUOTED = re.compile(_KEY + r"""[ \t]*(?:=(?!=)|:)[ \t]*""" + _QUOTED.format(q="q", v="val"))
_WORD = r"""(?:\$\{[^}\s]*\}|[^\s"'`;&,<>{}()\[\]])+"""
# `Password=x;`, `export DB_TOKEN=x`, `?token=x&`: the key found first, its one-word value read after it
_KEY_ASSIGN = re.compile(_KEY + r"[ \t]*=(?!=)[ \t]*")
_ASSIGNED = re.compile(r"(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?" + _WORD)
# INI (`password = x y`) and properties (`a.b.password=x y`): the rest of the line
_LINE_ASSIGNMENT = re.compile(
    rf"^[ \t]*(?P<kq>[\"']?)(?P<key>{_NAME})(?P=kq)"
    # The value ends at its last non-blank (greedy, then one step back per trailing blank): a lazy
    # value before `[ \t]*$` rescans the blanks at every step, quadratic in a line of spaces.
    r"(?P<around>[ \t]*)=(?!=)(?P<after>[ \t]*)(?P<val>\S(?:[^\n]*\S)?)[ \t]*$",
    re.M,
)
# `password: x y z`: words up to the end of the line (or a `,`, quote or bracket). A word that is itself a
# `key:` starts the next pair: `note: see password: x` keeps looking.
_COLON_WORD = r"""(?:\$\{[^}\s]*\}|[^\s"'`,<>{}\[\]])+"""
_VALUE_WORD = r"""(?!["']?[\w./-]+["']?:(?:\s|\Z))""" + _COLON_WORD
_KEY_COLON = re.compile(_KEY + r"[ \t]*:[ \t]+(?P<val>" + _VALUE_WORD + r"(?:[ \t]+" + _VALUE_WORD + ")*)")
_BLOCK_INDICATOR = re.compile(r"[|>][0-9+-]*(?:[ \t]+#.*)?")
_PLAIN_WORD = re.compile(r"\(?[A-Za-z]+(?:['\u2019-][A-Za-z]+)*[.,;:!?)]*")  # a URL is not one
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "apikey", "aws4-hmac-sha256"})
# `--password x` (a flag, then its value as the next word, or quoted: `--password "x y"`)
_FLAG_SPACE = re.compile(
    r"""(?<![\w-])--?(?P<key>[A-Za-z_][\w.-]*)[ \t]+(?P<val>[^\s"'`;&,<>-][^\s"'`;&,<>]*"""
    rf"|{command_lines.QUOTED_ARG})"
)
# `{"name": "DB_PASSWORD", "value": "x"}` in JSON, jsonencode(...) or a heredoc, either order
_NAME_THEN_VALUE = re.compile(
    r"""(?<![\w-])(?P<nq>["']?)(?:name|key)(?P=nq)\s*[:=]\s*"""
    + _QUOTED.format(q="q1", v="name")
    + r"""\s*,?\s*(?P<vq>["']?)value(?P=vq)\s*[:=]\s*"""
    + _QUOTED.format(q="q2", v="val")
)
_VALUE_THEN_NAME = re.compile(
    r"""(?<![\w-])(?P<vq>["']?)value(?P=vq)\s*[:=]\s*"""
    + _QUOTED.format(q="q2", v="val")
    + r"""\s*,?\s*(?P<nq>["']?)(?:name|key)(?P=nq)\s*[:=]\s*"""
    + _QUOTED.format(q="q1", v="name")
)
_XML_ELEMENT = re.compile(r"<(?P<key>[A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>(?P<val>[^<]+)</(?P=key)\s*>")
_NETRC = re.compile(r"(?<![\w-])password[ \t]+(?P<val>\S+)")
_NETRC_HINT = re.compile(r"(?<![\w-])machine\s+\S+\s+login\s")
# The user information of a URL runs to the last `@` before the host (`p@ss` is a password too).
_URL_PASSWORD = re.compile(
    r"""(?<![\w+.-])(?P<pre>[A-Za-z][\w+.-]*://[^\s/:@"'<>]*:)(?P<val>[^\s/"'<>]+)"""
    r"""(?=@[^\s/@"'<>]*(?:[/?#\s"'<>]|\Z))"""
)
_ORACLE_HINT = re.compile(r"thin:|oci:|sqlplus|sqlldr|expdp|impdp|rman", re.I)
_ORACLE_LOGIN = re.compile(r"""(?<![\w$#./@-])[A-Za-z][\w$#]*/(?P<val>[^\s/@"'`]+)@(?=[\w./\[-])""")
# A private key's body runs to the next `-----` (its END line, or a truncated key's end of text).
_PEM = re.compile(
    r"(?P<begin>-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)(?P<val>(?:(?!-----).)+)", re.S
)
# `LS0tLS1CRUdJTi` is base64 for `-----BEGIN`: a key encoded whole, on one line or on lines of their own.
_ENCODED_PEM = re.compile(
    r"(?<![A-Za-z0-9+/])(?P<val>LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}"
    r"(?:[ \t]*\n[ \t]*[A-Za-z0-9+/]+={0,2}(?=[ \t]*(?:\n|\Z)))*)"
)
_WEBHOOK = re.compile(
    r"(?:hooks\.slack\.com/(?:services|workflows|triggers)|discord(?:app)?\.com/api/webhooks"
    r"|webhook\.office\.com/webhookb2)/(?P<val>[^\s\"'`<>]+)"
)
# Tokens recognisable by their own form, whatever holds them.
_TOKEN_VALUE = re.compile(
    r"(?<![\w-])(?P<val>(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}|glpat-[\w-]{20,}"
    r"|AIza[\w-]{30,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{30,}|SG\.[\w-]{16,}\.[\w-]{16,}"
    r"|sk-(?:proj-|ant-)?[\w-]{20,})"
)
_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?P<val>(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16})(?![A-Z0-9])")
# A 40-character secret access key standing alone: mixed case and not hex (git commits, digests are hex).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])(?P<val>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")


def scan(text: str, mask: Mask) -> str:
    """``text`` with every secret written inside it replaced by ``mask(secret)``."""
    if _HINT.search(text.lower()) is not None:
        text = _structured(text, mask)
        text = _commands_and_urls(text, mask)
        text = _known_forms(text, mask)
    if len(text) >= 40 and _AWS_SECRET_HINT.search(text):
        text = _AWS_SECRET.sub(lambda m: _replace(m, "val", mask) if _looks_random(m["val"]) else m[0], text)
    return text


def _structured(text: str, mask: Mask) -> str:
    """Keys and their values: private keys first (their bodies hold anything), blocks, then one line."""
    text = _PEM.sub(lambda m: m["begin"] + mask(m["val"]), text)
    if "LS0tLS1CRUdJTi" in text:
        text = _ENCODED_PEM.sub(lambda m: _replace(m, "val", mask) if _encodes_key(m["val"]) else m[0], text)
    if "\n" in text:
        text = _blocks(text, mask)

    def by_key(m: re.Match[str]) -> str:
        if not is_credential_name(m["key"]) or m["val"].lower() in SWITCHES:
            return m[0]  # a switch (`automountToken: false`) stays a switch
        return _replace(m, "val", mask)

    text = _KEY_QUOTED.sub(by_key, text)
    if "=" in text:
        text = _LINE_ASSIGNMENT.sub(lambda m: _line_assignment(m, mask), text)
        text = _assignments(text, mask)
    text = _KEY_COLON.sub(lambda m: _colon_pair(m, mask), text)
    text = command_lines.redact_flags(text, mask)
    text = _FLAG_SPACE.sub(by_key, text)

    def by_name(m: re.Match[str]) -> str:
        return _replace(m, "val", mask) if is_credential_name(m["name"]) else m[0]

    text = _NAME_THEN_VALUE.sub(by_name, text)
    text = _VALUE_THEN_NAME.sub(by_name, text)
    if "</" in text:
        text = _XML_ELEMENT.sub(by_key, text)
    if "machine" in text and _NETRC_HINT.search(text) is not None:
        text = _NETRC.sub(lambda m: _replace(m, "val", mask), text)
    return text


def _commands_and_urls(text: str, mask: Mask) -> str:
    text = _URL_PASSWORD.sub(lambda m: _replace(m, "val", mask), text)
    if _ORACLE_HINT.search(text) is not None:
        text = _ORACLE_LOGIN.sub(lambda m: _replace(m, "val", mask), text)
    if "hooks." in text or "discord" in text:
        text = _WEBHOOK.sub(lambda m: _replace(m, "val", mask), text)
    return text


def _known_forms(text: str, mask: Mask) -> str:
    text = _AWS_KEY_ID.sub(lambda m: _replace(m, "val", mask), text)
    return _TOKEN_VALUE.sub(lambda m: _token(m, mask), text)


def _token(m: re.Match[str], mask: Mask) -> str:
    if m["val"].startswith("sk-") and not any(c.isdigit() for c in m["val"]):
        return m[0]  # `sk-` words (`sk-learn-contrib-...`); the keys hold digits
    return _replace(m, "val", mask)


def _assignments(text: str, mask: Mask) -> str:
    """``key=value``, one word: the keys are found first and only a credential's value is read, so that
    ``a=a=a=...`` is scanned once and ``--from-literal=password=x`` finds ``password``."""
    out: list[str] = []
    last = pos = 0
    while (m := _KEY_ASSIGN.search(text, pos)) is not None:
        pos = m.end()
        if not is_credential_name(m["key"]):
            continue
        value = _ASSIGNED.match(text, pos)
        if value is None or value[0].lower() in SWITCHES or _masked(value[0]):
            continue
        out += [text[last:pos], command_lines.mask_argument(value[0], mask)]
        last = pos = value.end()
    return "".join(out) + text[last:] if out else text


def _line_assignment(m: re.Match[str], mask: Mask) -> str:
    value = m["val"]
    spaced = m["around"] or m["after"]
    if not (spaced or "." in m["key"]) or not is_credential_name(m["key"]) or _masked(value):
        return m[0]  # `KEY=x y` is a shell command: `_assignments` takes its one word
    if value.lower() in SWITCHES or value[:1] in "\"'":
        return m[0]  # quoted: `_KEY_QUOTED` took it
    return _replace(m, "val", mask)


def _colon_pair(m: re.Match[str], mask: Mask) -> str:
    value = m["val"]
    if not is_credential_name(m["key"]) or value.lower() in SWITCHES or _BLOCK_INDICATOR.fullmatch(value):
        return m[0]
    if not _in_a_mapping(m) and _is_prose(value):
        return m[0]
    return _replace(m, "val", mask)


def _in_a_mapping(m: re.Match[str]) -> bool:
    """Is this `key:` a key of a configuration: quoted, after `{` or `,`, or starting a line of several?"""
    if m["kq"]:
        return True
    text, start = m.string, m.start()
    before = text[text.rfind("\n", 0, start) + 1 : start].rstrip(" \t")
    if before.endswith(("{", ",")):
        return True
    return before.strip(" \t-") == "" and "\n" in text


def _is_prose(value: str) -> bool:
    words = value.split()
    if len(words) < 2 or words[0].lower() in _AUTH_SCHEMES:
        return False
    return all(_PLAIN_WORD.fullmatch(word) for word in words)


# --- YAML block scalars --------------------------------------------------------------------------------

_KEY_LINE = re.compile(
    rf"^(?P<lead>[ \t]*)(?:-[ \t]+)?(?P<kq>[\"']?)(?P<key>{_NAME})(?P=kq)[ \t]*:"
    # One way only to read the blanks after the colon (two optional `[ \t]*` in a row are quadratic).
    r"[ \t]*(?:(?P<indicator>[|>][0-9+-]*)[ \t]*)?(?:#[^\n]*)?$",
    re.M,
)
# `- item` lines of a list under a credential key: a scalar item is a secret, a `- key: value` item is not.
_LIST_ITEM = re.compile(
    r"""^[ \t]*-[ \t]+(?![{\[]|["']?[\w./-]+["']?[ \t]*:(?:\s|$))(?P<val>[^\n]*[^\s])""", re.M
)
_OPENS_A_STRUCTURE = re.compile(r"""[ \t]*(?:-(?:\s|$)|#|["']?[^\s:"']+["']?[ \t]*:(?:\s|$))""")


def _blocks(text: str, mask: Mask) -> str:
    """``password: |`` (or ``>-``...) and ``password:`` with its value on the next, more indented, lines:
    those lines are one secret, and its marker takes their place, at their indentation. A list there
    (``passwords:`` then ``- x`` lines) has each scalar item masked; a mapping is read key by key."""
    out: list[str] = []
    last = 0
    for m in _KEY_LINE.finditer(text):
        if m.start() < last or not is_credential_name(m["key"]):
            continue
        first = _first_line(text, m.end() + 1, len(m["lead"]))
        if first is None:
            continue
        opens = None if m["indicator"] else _OPENS_A_STRUCTURE.match(text, first)
        if opens is not None and not opens[0].lstrip().startswith("-"):
            continue  # a mapping (or a comment): its own keys decide
        end = _block_end(text, first, len(m["lead"]))
        body = text[first:end]
        indent = body[: len(body) - len(body.lstrip(" \t"))]
        masked = _mask_items(body, len(indent), mask) if opens else indent + _mask_block(body, mask)
        out += [text[last:first], masked]
        last = end
    return "".join(out) + text[last:] if out else text


def _mask_items(body: str, indent: int, mask: Mask) -> str:
    def item(m: re.Match[str]) -> str:
        return _replace(m, "val", mask) if _indentation(m.string, m.start()) == indent else m[0]

    return _LIST_ITEM.sub(item, body)


def _mask_block(body: str, mask: Mask) -> str:
    value = body.lstrip(" \t")
    return value if _masked(value.strip()) else mask(value)


def _first_line(text: str, start: int, indent: int) -> int | None:
    """Where the first line with text after ``start`` starts, if it is more indented than ``indent``."""
    first = start
    while first < len(text):
        end = text.find("\n", first)
        end = len(text) if end < 0 else end
        if text[first:end].strip():
            return first if _indentation(text, first) > indent else None
        first = end + 1
    return None


def _block_end(text: str, first: int, indent: int) -> int:
    """The end of the last line, from ``first``, before one indented no more than ``indent``."""
    last = pos = first
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        if text[pos:end].strip():
            if _indentation(text, pos) <= indent:
                break
            last = end
        pos = end + 1
    return last


_INDENT = re.compile(r"[ \t]*")


def _indentation(text: str, pos: int) -> int:
    return _INDENT.match(text, pos).end() - pos  # type: ignore[union-attr]  # `*` always matches


# --- helpers -------------------------------------------------------------------------------------------


def _encodes_key(value: str) -> bool:
    head = "".join(value.split())[:96]
    try:
        return b"PRIVATE KEY" in base64.b64decode(head[: len(head) // 4 * 4])
    except (binascii.Error, ValueError):
        return False


def _looks_random(word: str) -> bool:
    has = [any(c.islower() for c in word), any(c.isupper() for c in word), any(c.isdigit() for c in word)]
    return all(has) and not re.fullmatch(r"[0-9a-fA-F]+", word)


def _masked(value: str) -> bool:
    """Already a marker (also quoted, or the `<redacted…>` of a mask that keeps references)."""
    bare = value.strip("\"' ")
    return is_marker(bare) or (bare.startswith("<redacted") and bare.endswith(">"))


def _replace(m: re.Match[str], group: str, mask: Mask) -> str:
    value = m[group]
    if not value or _masked(value):
        return m[0]
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    whole = m[0]
    return whole[:start] + command_lines.mask_argument(value, mask) + whole[end:]

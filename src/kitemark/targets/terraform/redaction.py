"""Secret redaction for parsed HCL: literal credential values in one file's python-hcl2 parse become
``"<redacted>"`` before the parse is kept as audit evidence. Credential-like names are recognised by
``is_credential_name`` (``CREDENTIAL_NAMES``, ``CREDENTIAL_SUFFIXES``); ``redact_secrets`` walks a file's
blocks, masking those values, secrets embedded in longer strings (JSON, ``jsonencode``, URL passwords) and
the values of sensitive variables and outputs, while ``mask_template`` keeps references and ``${...}``
interpolations intact so the evidence still shows where a value comes from.
"""

from __future__ import annotations

import re
from typing import Any

from kitemark.targets.terraform.hcl_values import META_KEYS

REDACTED = "<redacted>"

# Attribute and map-key names whose values are credentials. A name matches when, lower-cased with `-` and
# camelCase humps read as `_` and a write-only `_wo` suffix dropped, it is one of CREDENTIAL_NAMES or ends
# with one of CREDENTIAL_SUFFIXES: `password`, `master_password`, `auth_token`, `DB_PASSWORD`, `apiKey`,
# `client_secret`, `password_wo`. Deliberately not `*_key` (kms_key_id, s3 object keys) nor `*_id`/`*_arn`
# (`secret_id`, `secret_arn` name a secret, they do not hold it). Booleans and null are never secrets, so
# `manage_master_user_password = true` and `generate_secret = true` stay as they are.
CREDENTIAL_NAMES = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secret_key",
        "secret_access_key",
        "access_key",
        "access_key_id",
        "token",
        "session_token",
        "auth_token",
        "private_key",
        "private_key_pem",
        "client_secret",
        "api_key",
        "apikey",
        "secret_string",
        "secret_binary",
        "credentials",
        "authorization",
        "plaintext",
    }
)
CREDENTIAL_SUFFIXES = (
    "_password",
    "_passwd",
    "_passphrase",
    "_secret",
    "_secret_key",
    "_token",
    "_private_key",
    "_api_key",
    "_apikey",
    "_access_key",
)
# Resource types whose `value` argument is the secret itself (an SSM parameter unless it is known to be a
# plain String/StringList, an API Gateway key).
_SECRET_VALUE_TYPES = frozenset({"aws_ssm_parameter", "aws_api_gateway_api_key"})
_PLAIN_SSM_TYPES = frozenset({"String", "StringList"})

# Labels python-hcl2 nests as dict keys above a block's body, by top-level block kind; label keys are names
# chosen by the author (`resource "aws_secretsmanager_secret" "db_password"`), never attributes.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1, "check": 1}

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Secrets written inside a longer string: a JSON heredoc or jsonencode() (`"password": "x"`,
# `{ name = "DB_PASSWORD", value = "x" }`) or the password of a URL (`postgres://app:x@db:5432/app`).
_HINT = re.compile(r"pass|secret|token|key|credential|authori|plaintext|://", re.IGNORECASE)
_QUOTED = r"""(?P<{q}>["'])(?P<{v}>(?:\\.|(?!(?P={q}))[^\\])*)(?P={q})"""
_KEY_VALUE = re.compile(
    r"""(?<![\w-])(?P<kq>["']?)(?P<key>[A-Za-z_][\w-]*)(?P=kq)\s*(?:=(?!=)|:)\s*"""
    + _QUOTED.format(q="q", v="val")
)
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
_URL_PASSWORD = re.compile(r"""(?P<pre>[A-Za-z][\w+.-]*://[^\s/:@"'<>]+:)(?P<val>[^\s/@"'<>]+)(?=@)""")


def is_credential_name(name: str) -> bool:
    """Does an attribute or key of this name hold a credential (see CREDENTIAL_NAMES)?"""
    normal = _CAMEL_HUMP.sub("_", name.strip("\"' ")).lower().replace("-", "_").removesuffix("_wo")
    return normal in CREDENTIAL_NAMES or normal.endswith(CREDENTIAL_SUFFIXES)


def redact_secrets(parsed: dict[str, Any]) -> dict[str, Any]:
    """Replace, in one file's python-hcl2 parse (in place), every literal secret value with ``<redacted>``:

    - the literal values of credential-like attributes and map keys (``is_credential_name``) anywhere,
      including inside ``jsonencode(...)``, JSON heredocs, ``{name = "X_PASSWORD", value = ...}`` pairs and
      the password of a URL;
    - the ``default`` of a ``sensitive`` variable (or one with a credential-like name), the ``value`` of a
      ``sensitive`` output, and the ``value`` of an SSM SecureString parameter or API Gateway key.

    References and expressions survive: ``"${var.db_password}"`` is kept as it is, and in an expression only
    its quoted string literals and the template text around ``${...}`` are replaced
    (``coalesce(var.p, "x")`` becomes ``coalesce(var.p, "<redacted>")``). Numbers inside an expression are
    not treated as secrets.
    """
    for kind, entries in parsed.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            for labels, body in _labelled_bodies(entry, _LABELS.get(kind, 0)):
                _redact_block(kind, labels, body)
    return parsed


Labelled = list[tuple[tuple[str, ...], Any]]


def _labelled_bodies(entry: Any, depth: int, labels: tuple[str, ...] = ()) -> Labelled:
    """The bodies below ``depth`` levels of label keys, each with its labels."""
    if depth == 0 or not isinstance(entry, dict):
        return [(labels, entry)]
    return [
        pair
        for key, inner in entry.items()
        if key not in META_KEYS
        for pair in _labelled_bodies(inner, depth - 1, (*labels, key))
    ]


def _redact_block(kind: str, labels: tuple[str, ...], body: Any) -> None:
    if not isinstance(body, dict):
        return
    secret_name = bool(labels) and is_credential_name(labels[-1])
    if kind == "variable" and "default" in body and (_truthy(body.get("sensitive")) or secret_name):
        body["default"] = _redact_all(body["default"])
    if kind == "output" and "value" in body and (_truthy(body.get("sensitive")) or secret_name):
        body["value"] = _mask_literals(body["value"])
    if kind == "resource" and labels and labels[0] in _SECRET_VALUE_TYPES and "value" in body:
        plain = labels[0] == "aws_ssm_parameter" and body.get("type") in _PLAIN_SSM_TYPES
        if not plain:
            body["value"] = _mask_literals(body["value"])
    _walk(body)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _walk(node: Any) -> Any:
    """Redact under credential-like keys, and secrets embedded in strings, everywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in META_KEYS:
                continue
            node[key] = _mask_literals(value) if is_credential_name(key) else _walk(value)
        _redact_pair(node)
        return node
    if isinstance(node, list):
        return [_walk(v) for v in node]
    if isinstance(node, str):
        return _redact_embedded(node)
    return node


def _redact_pair(node: dict[str, Any]) -> None:
    """``{name = "DB_PASSWORD", value = "x"}`` (container env, Beanstalk settings, HTTP headers marked
    ``is_value_secret``): the value is a secret although its key is called ``value``."""
    if "value" not in node:
        return
    named = any(isinstance(node.get(k), str) and is_credential_name(node[k]) for k in ("name", "key"))
    if named or _truthy(node.get("is_value_secret")):
        node["value"] = _mask_literals(node["value"])


def _mask_literals(value: Any) -> Any:
    """A credential's value with every literal replaced and references kept (bool/null kept as well)."""
    if isinstance(value, dict):
        return {k: v if k in META_KEYS else _mask_literals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_literals(v) for v in value]
    if isinstance(value, str):
        return mask_template(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED
    return value


def _redact_all(value: Any) -> Any:
    """A sensitive variable's default: a literal throughout (Terraform allows no references there)."""
    if isinstance(value, dict):
        return {k: v if k in META_KEYS else _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, str) and value:
        return REDACTED
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED
    return value


def mask_template(text: str) -> str:
    """``text`` with its literal parts replaced: a plain literal becomes ``<redacted>``; in a template the
    text around ``${...}`` and the quoted strings inside it are replaced, so ``"${var.x}"`` is unchanged.
    Empty and whitespace-only text is kept; anything this cannot read (``%{`` directives, heredocs inside
    an expression, unbalanced braces) is replaced whole."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            chunk = "".join(literal)
            out.append(chunk if not chunk.strip() or chunk == REDACTED else REDACTED)
            literal.clear()

    i, n = 0, len(text)
    while i < n:
        if text.startswith(("$${", "%%{"), i):
            literal.append(text[i : i + 3])
            i += 3
        elif text.startswith("%{", i):
            return REDACTED
        elif text.startswith("${", i):
            end = _expression_end(text, i + 2)
            inner = None if end is None else _mask_expression(text[i + 2 : end])
            if end is None or inner is None:
                return REDACTED
            flush()
            out.append("${" + inner + "}")
            i = end + 1
        else:
            literal.append(text[i])
            i += 1
    flush()
    return "".join(out)


def _mask_expression(expr: str) -> str | None:
    """An expression with the contents of its quoted strings masked; None if it cannot be read. A string
    used as an index (``data.x["name"].value``) is part of a reference and is kept."""
    if "<<" in expr:  # a heredoc inside an expression: not worth reading
        return None
    out: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'":
            end = _string_end(expr, i)
            if end is None:
                return None
            content = expr[i + 1 : end]
            index = expr[:i].rstrip().endswith("[") and expr[end + 1 :].lstrip().startswith("]")
            out.append(ch + (content if index else mask_template(content)) + ch)
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int | None:
    """Index of the quote closing the string opened at ``start`` (escapes and nested ``${}`` skipped)."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i
        elif text.startswith("${", i):
            end = _expression_end(text, i + 2)
            if end is None:
                return None
            i = end + 1
        else:
            i += 1
    return None


def _expression_end(text: str, start: int) -> int | None:
    """Index of the ``}`` closing an interpolation whose expression starts at ``start``."""
    depth, i = 1, start
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = _string_end(text, i)
            if end is None:
                return None
            i = end + 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _redact_embedded(text: str) -> str:
    """Secrets written inside a longer string (JSON, jsonencode, a URL); other text is left alone."""
    if not _HINT.search(text):
        return text

    def key_value(m: re.Match[str]) -> str:
        if not is_credential_name(m["key"]):
            return m[0]
        return _replace_group(m, "val")

    def pair(m: re.Match[str]) -> str:
        return _replace_group(m, "val") if is_credential_name(m["name"]) else m[0]

    text = _KEY_VALUE.sub(key_value, text)
    text = _NAME_THEN_VALUE.sub(pair, text)
    text = _VALUE_THEN_NAME.sub(pair, text)
    return _URL_PASSWORD.sub(lambda m: _replace_group(m, "val"), text)


def _replace_group(m: re.Match[str], group: str) -> str:
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    whole = m[0]
    return whole[:start] + mask_template(m[group]) + whole[end:]

"""Secret redaction for parsed HCL, by the policy of ``kitemark.core.redaction``: literal credential values
in one file's python-hcl2 parse become markers (``<redacted hmac:…>``) before the parse is kept as audit
evidence. ``redact_secrets`` walks a file's blocks, masking the values under credential-like names, secrets
written inside longer strings (JSON, ``jsonencode``, ``user_data`` scripts, connection strings, URL
passwords, private keys) and the values of sensitive variables and outputs, while ``mask_template`` keeps
references and ``${...}`` interpolations intact so the evidence still shows where a value comes from.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from kitemark.core.credential_names import is_external_secrets, names_a_key
from kitemark.core.redaction import is_credential_name, is_marker, marker, redact_text
from kitemark.targets.terraform.hcl_values import META_KEYS

__all__ = ["is_credential_name", "mask_template", "redact_fed_values", "redact_secrets"]

# `var.x` / `local.x` read where a secret is written: their literal values are secrets too.
_REFERENCE = re.compile(r"\b(var|local)\.([A-Za-z_][\w-]*)")
_feeding: ContextVar[set[tuple[str, str]] | None] = ContextVar("feeding", default=None)

# Resource types whose `value` argument is the secret itself (an SSM parameter unless it is known to be a
# plain String/StringList, an API Gateway key).
_SECRET_VALUE_TYPES = frozenset({"aws_ssm_parameter", "aws_api_gateway_api_key"})
_PLAIN_SSM_TYPES = frozenset({"String", "StringList"})
# Resource types whose data maps are a Kubernetes Secret's values: every value, whatever its key.
_SECRET_DATA_TYPES = frozenset({"kubernetes_secret", "kubernetes_secret_v1"})
_SECRET_DATA_KEYS = ("data", "binary_data")

# Labels python-hcl2 nests as dict keys above a block's body, by top-level block kind; label keys are names
# chosen by the author (`resource "aws_secretsmanager_secret" "db_password"`), never attributes.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1, "check": 1}


def redact_secrets(parsed: dict[str, Any], feeding: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Replace, in one file's python-hcl2 parse (in place), every literal secret value with its marker:

    - the literal values of credential-like attributes and map keys (``is_credential_name``) anywhere,
      including inside ``jsonencode(...)``, JSON heredocs, ``{name = "X_PASSWORD", value = ...}`` pairs and
      the password of a URL;
    - the ``default`` of a ``sensitive`` variable (or one with a credential-like name), the ``value`` of a
      ``sensitive`` output, and the ``value`` of an SSM SecureString parameter or API Gateway key.

    References and expressions survive: ``"${var.db_password}"`` is kept as it is, and in an expression only
    its quoted string literals and the template text around ``${...}`` are replaced
    (``coalesce(var.p, "x")`` becomes ``coalesce(var.p, "<redacted hmac:…>")``). Numbers inside an
    expression are not treated as secrets.

    ``feeding`` collects the ``("var", name)`` and ``("local", name)`` references read where a secret is
    written, for ``redact_fed_values`` (the variable may be declared in another file of the module).
    """
    token = _feeding.set(feeding)
    try:
        for kind, entries in parsed.items():
            if not isinstance(entries, list):
                continue
            for entry in entries:
                for labels, body in _labelled_bodies(entry, _LABELS.get(kind, 0)):
                    _redact_block(kind, labels, body)
    finally:
        _feeding.reset(token)
    return parsed


def redact_fed_values(files: dict[str, Any], feeding: set[tuple[str, str]]) -> None:
    """Redact, across one module's parsed files (in place), the default of every variable and the value
    of every local that ``feeding`` says a secret is read from (``password = var.db`` makes ``db``'s
    default a secret, whatever its name); a local read this way may name more, until none is left."""
    done: set[tuple[str, str]] = set()
    while pending := feeding - done:
        done |= pending
        more: set[tuple[str, str]] = set()
        token = _feeding.set(more)
        try:
            for parsed in files.values():
                _redact_fed_file(parsed, pending)
        finally:
            _feeding.reset(token)
        feeding |= more


def _redact_fed_file(parsed: Any, names: set[tuple[str, str]]) -> None:
    if not isinstance(parsed, dict):
        return
    for entry in parsed.get("variable") or []:
        for labels, body in _labelled_bodies(entry, 1):
            if labels and ("var", labels[0]) in names and isinstance(body, dict) and "default" in body:
                body["default"] = _redact_all(body["default"])
    for body in parsed.get("locals") or []:
        if isinstance(body, dict):
            for key in body:
                if key not in META_KEYS and ("local", key) in names:
                    body[key] = _mask_literals(body[key])


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
    if kind in ("resource", "data") and labels and labels[0] in _SECRET_DATA_TYPES:
        for key in _SECRET_DATA_KEYS:
            if key in body:
                body[key] = _mask_literals(body[key])
    _walk(body)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _walk(node: Any, keys_named: bool = False) -> Any:
    """Redact under credential-like keys, and secrets embedded in strings, everywhere below ``node``.
    ``keys_named``: inside an external-secrets.io manifest, where ``secretKey`` names a key."""
    if isinstance(node, dict):
        keys_named = keys_named or is_external_secrets(node.get("apiVersion"))
        for key, value in node.items():
            if key in META_KEYS:
                continue
            secret = is_credential_name(key) and not (keys_named and names_a_key(key, node))
            node[key] = _mask_literals(value) if secret else _walk(value, keys_named)
        _redact_pair(node)
        return node
    if isinstance(node, list):
        return [_walk(v, keys_named) for v in node]
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
    """A credential's value with every literal replaced and references kept (bool/null kept as well);
    the references are noted for ``redact_fed_values``."""
    if isinstance(value, dict):
        return {k: v if k in META_KEYS else _mask_literals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_literals(v) for v in value]
    if isinstance(value, str):
        feeding = _feeding.get()
        if feeding is not None and "." in value:
            feeding.update((m[1], m[2]) for m in _REFERENCE.finditer(value))
        return mask_template(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return marker(value)
    return value


def _redact_all(value: Any) -> Any:
    """A sensitive variable's default: a literal throughout (Terraform allows no references there)."""
    if isinstance(value, dict):
        return {k: v if k in META_KEYS else _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, str) and value and not is_marker(value):
        return marker(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return marker(value)
    return value


def mask_template(text: str) -> str:
    """``text`` with its literal parts replaced: a plain literal becomes its marker; in a template the
    text around ``${...}`` and the quoted strings inside it are replaced, so ``"${var.x}"`` is unchanged.
    Empty and whitespace-only text is kept; anything this cannot read (``%{`` directives, heredocs inside
    an expression, unbalanced braces) is replaced whole."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            chunk = "".join(literal)
            out.append(chunk if not chunk.strip() or is_marker(chunk) else marker(chunk))
            literal.clear()

    i, n = 0, len(text)
    while i < n:
        if text.startswith(("$${", "%%{"), i):
            literal.append(text[i : i + 3])
            i += 3
        elif text.startswith("%{", i):
            return marker(text)
        elif text.startswith("${", i):
            end = _expression_end(text, i + 2)
            inner = None if end is None else _mask_expression(text[i + 2 : end])
            if end is None or inner is None:
                return marker(text)
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
    """Secrets written inside a longer string (JSON, jsonencode, a script, a URL); other text is left
    alone, and ``${...}`` references inside a secret are kept."""
    return redact_text(text, mask_template)

"""Secrets in Kubernetes objects, replaced by markers (``kitemark.core.redaction``) as each document is
read, before validation, messages or the inventory see it:

- a Secret's ``data``, ``stringData`` and ``binaryData``: every value, whatever its key (keys stay, as
  evidence of what the Secret holds);
- anywhere in any object: a scalar under a credential-like key (a ConfigMap's ``DB_PASSWORD``, a custom
  resource's ``spec.password``), the ``value`` of a ``{name, value}`` pair whose name is credential-like
  (container ``env``), the word after a credential-like flag in ``args``/``command``
  (``["--password", "x"]``), and secrets written inside any string (``--password=x``,
  ``Password=x;``, URL passwords, private keys, AWS keys: ``redact_text``).

Empty values stay empty and booleans stay booleans, so a check can still tell set from unset; other
fields are untouched (no check reads env values, args or ConfigMap data).
"""

from __future__ import annotations

from typing import Any

from kitemark.core.redaction import is_credential_name, redact_text, redact_value

SECRET_FIELDS = ("data", "stringData", "binaryData")
_ARGV_KEYS = frozenset({"args", "command"})


def redact_document(data: Any, list_kind: str = "") -> Any:
    """A redacted copy of one raw document (an object, or a ``List`` of them); the input is left as
    it was. ``list_kind``: the kind of the List holding it (raw API lists, ``SecretList``, leave their
    items' kind off)."""
    if not isinstance(data, dict):
        return _walk(data)
    secret = is_secret(data, list_kind)
    out = _walk({k: v for k, v in data.items() if not (secret and k in SECRET_FIELDS)})
    return redact_secret_fields(data, out) if secret else out


def is_secret(data: dict[str, Any], list_kind: str = "") -> bool:
    """A Secret, whatever the case or spacing of its kind (`secret`, `SECRET `)."""
    kind = data.get("kind", list_kind.removesuffix("List"))
    return isinstance(kind, str) and kind.strip().casefold() == "secret"


def redact_secret_fields(secret: dict[str, Any], into: dict[str, Any] | None = None) -> dict[str, Any]:
    """``into`` (a copy of ``secret`` by default) with every value of the Secret's data fields replaced."""
    out = dict(secret) if into is None else into
    for key in SECRET_FIELDS:
        if key in secret:
            value = secret[key]
            out[key] = (
                {str(k): redact_value(v) for k, v in value.items()}
                if isinstance(value, dict)
                else (redact_value(value))
            )
    return out


def _walk(node: Any) -> Any:
    if isinstance(node, str):
        return redact_text(node)
    if isinstance(node, list):
        return [_walk(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "items" in node and isinstance(node.get("kind"), str) and isinstance(node["items"], list):
        # A List: each item by the rules of its own kind (a Secret inside a List is still a Secret).
        return {
            k: [redact_document(i, node["kind"]) for i in v] if k == "items" else _walk(v)
            for k, v in node.items()
        }
    out: dict[str, Any] = {}
    for key, value in node.items():
        if is_credential_name(key) and not isinstance(value, dict | list):
            out[key] = redact_value(value)
        elif key in _ARGV_KEYS and isinstance(value, list):
            out[key] = _argv(value)
        else:
            out[key] = _walk(value)
    if isinstance(node.get("value"), str | int | float) and is_credential_name(node.get("name")):
        out["value"] = redact_value(node["value"])  # env: {name: DB_PASSWORD, value: x}
    return out


def _argv(args: list[Any]) -> list[Any]:
    """``args``/``command``: each word's embedded secrets, and the word after ``--password``."""
    out: list[Any] = []
    after_flag = False
    for word in args:
        if after_flag and isinstance(word, str) and not word.startswith("-"):
            out.append(redact_value(word))
        else:
            out.append(_walk(word))
        after_flag = (
            isinstance(word, str) and word.startswith("-") and "=" not in word and is_credential_name(word)
        )
    return out

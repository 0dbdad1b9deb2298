"""Secrets in Kubernetes objects, replaced by markers (``kitemark.core.redaction``) as each document is
read, before validation, messages or the inventory see it:

- a Secret's ``data``, ``stringData`` and ``binaryData``: every value, whatever its key (keys stay, as
  evidence of what the Secret holds);
- anywhere in any object: a scalar under a credential-like key (a ConfigMap's ``DB_PASSWORD``, a custom
  resource's ``spec.password``) unless it is a switch (``"true"``) or an ExternalSecret's ``secretKey``
  (the name of a key, in an external-secrets.io object only: ``kitemark.core.credential_names``), the
  ``value`` of a ``{name, value}`` pair whose name is credential-like (container ``env``), and secrets
  written inside any string (``--password=x``, ``Password=x;``, URL passwords, private keys, AWS keys,
  YAML blocks: ``redact_text``);
- ``args``/``command`` read as a sequence (``kitemark.core.command_lines``): the word after
  ``--password``, ``-pX`` under a MySQL client, ``-p X`` under sshpass, ``-u user:X``; the program is
  named in the container's ``command``, ``args`` or ``image``.

Empty values stay empty and booleans stay booleans, so a check can still tell set from unset; an
``image`` is kept whole (``ghcr.io/org/secret:latest`` is a name and a tag) unless it carries URL user
information; other fields are untouched (no check reads env values, args or ConfigMap data).

The cluster collector applies ``redact_document`` to every document it reads, and the policies collector
to every object and inventory document of a Gatekeeper suite.
"""

from __future__ import annotations

from typing import Any

from kitemark.core import command_lines
from kitemark.core.credential_names import is_external_secrets, names_a_key
from kitemark.core.redaction import (
    SHORT,
    credential_key,
    is_credential_name,
    marker,
    redact_image,
    redact_short,
    redact_text,
    redact_value,
)
from kitemark.core.secret_forms import SWITCHES

SECRET_FIELDS = ("data", "stringData", "binaryData")
_ARGV_KEYS = frozenset({"args", "command"})


def redact_document(data: Any, list_kind: str = "", *, keep_managed_fields: bool = False) -> Any:
    """One raw document (an object, or a ``List`` of them) redacted in place (it is the reader's own
    fresh parse; a snapshot holds millions of values, too many to copy). ``list_kind``: the kind of
    the List holding it (raw API lists, ``SecretList``, leave their items' kind off). ``managedFields``
    (field names, no values) are dropped unless ``keep_managed_fields``."""
    if type(data) is str:
        return redact_text(data)
    if type(data) is list:
        _walk_list(data)
    if type(data) is not dict:
        return data
    kind, items = data.get("kind"), data.get("items")
    if isinstance(kind, str) and type(items) is list:
        # A List: each item by the rules of its own kind (a Secret inside a List is still a Secret).
        del data["items"]
        _walk_dict(data, False)
        data["items"] = [
            redact_document(item, kind, keep_managed_fields=keep_managed_fields) for item in items
        ]
        return data
    meta = data.get("metadata")
    managed = meta.pop("managedFields", None) if type(meta) is dict else None  # not worth a walk
    secret = is_secret(data, list_kind)
    held = {key: data.pop(key) for key in SECRET_FIELDS if secret and key in data}
    _walk_dict(data, is_external_secrets(data.get("apiVersion")))
    if held:
        data.update(redact_secret_fields(held))
    if keep_managed_fields and managed is not None and type(meta) is dict:
        meta["managedFields"] = managed
    return data


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


def _walk_dict(node: dict[Any, Any], keys_named: bool) -> None:
    # Hot: every value of a snapshot passes here once. Exact type tests, and a change only where needed.
    for key, value in node.items():
        kind = type(value)
        if kind is str:
            if type(key) is str and credential_key(key) and not _kept(key, value, node, keys_named):
                node[key] = redact_value(value)
            elif key == "image":  # a name and a tag, which checks read: only URL user information goes
                node[key] = redact_image(value)
            elif value:
                node[key] = redact_short(value) if len(value) <= SHORT else redact_text(value)
        elif kind is dict:
            if key != "labels":  # label values cannot hold a secret (63 characters, no `=`/`:`/space)
                _walk_dict(value, keys_named)
        elif kind is list:
            if key in _ARGV_KEYS:
                node[key] = _argv(value, node)
            elif type(key) is str and credential_key(key):
                _walk_credentials(value, keys_named)  # `tokens: [a, b]`
            else:
                _walk_list(value, keys_named)
        elif (kind is int or kind is float) and type(key) is str and credential_key(key):
            node[key] = redact_value(value)
    name = node.get("name")
    if type(name) is str and "value" in node and is_credential_name(name):
        node["value"] = redact_value(node["value"])  # env: {name: DB_PASSWORD, value: x}


def _walk_list(node: list[Any], keys_named: bool = False) -> None:
    for index, value in enumerate(node):
        kind = type(value)
        if kind is str:
            if value:
                node[index] = redact_short(value) if len(value) <= SHORT else redact_text(value)
        elif kind is dict:
            _walk_dict(value, keys_named)
        elif kind is list:
            _walk_list(value, keys_named)


def _walk_credentials(node: list[Any], keys_named: bool) -> None:
    """A list under a credential-like key: each string item is a secret, other items are walked."""
    for index, value in enumerate(node):
        if type(value) is str:
            node[index] = redact_value(value)
    _walk_list(node, keys_named)


def _kept(key: str, value: str, node: dict[Any, Any], keys_named: bool) -> bool:
    """A credential-named string that is no secret: a switch, or an ExternalSecret's key name
    (``keys_named``: inside an external-secrets.io object)."""
    return value.lower() in SWITCHES or (keys_named and names_a_key(key, node))


def _argv(args: list[Any], container: dict[Any, Any]) -> list[Any]:
    """``args``/``command``, read as a sequence (``kitemark.core.command_lines``): the word after
    ``--password``, ``-pX`` under a MySQL client (named in ``command``, ``args`` or by the ``image``),
    ``-p X`` under sshpass, ``-u user:X``; every other word's embedded secrets."""
    words = [*_list(container.get("command")), *_list(container.get("args"))]
    tools = command_lines.families(words, container.get("image"))
    return command_lines.redact_argv(args, tools, marker, redact_document)


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else []

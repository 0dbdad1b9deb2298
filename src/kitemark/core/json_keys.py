"""Repeated keys in a JSON object. orjson (like the standard library) keeps the last of them, so a
snapshot object ``{"kind": "Namespace", ..., "kind": "Secret"}`` would be read as a Secret, while
another reader (or a person) takes the Namespace. Kitemark refuses such a document, as it refuses a
YAML mapping with a repeated key.

The check costs about a tenth of the parse (``unchanged_keys``): every object member has exactly one
``:`` outside strings, and the parsed value, written back by orjson, has one for each member it kept
plus one for each colon in its strings (the only escape that spells a colon, ``\\u003a``, written as
``:``). Only when the counts disagree (a repeated key, or a literal ``\\\\u003a`` the count takes for
an escape) is the text parsed again to find the key (``repeated_key``)."""

from __future__ import annotations

import json
import re
from typing import Any

_ESCAPED_COLON = re.compile(r"\\u003[aA]")
_ESCAPED_COLON_BYTES = re.compile(rb"\\u003[aA]")


def unchanged_keys(text: str | bytes, written: bytes) -> bool:
    """Whether strict JSON ``text`` certainly holds no repeated key, given ``written``: the value orjson
    parsed from it, written back by orjson (wrapped in any number of lists). False means "not sure".

    A member lost to a repeated key takes one colon away from ``written`` (with any in its strings),
    and no text adds one, so equal counts prove no member was lost. The escapes are over-counted at
    worst (``\\\\u003a``, a backslash then ``u003a``, is not one): never hides a loss."""
    if isinstance(text, str):
        found = text.count(":") + len(_ESCAPED_COLON.findall(text))
    else:
        found = text.count(b":") + len(_ESCAPED_COLON_BYTES.findall(text))
    return found == written.count(b":")


def repeated_key(text: str | bytes) -> str | None:
    """The first repeated key of strict JSON ``text`` as one line, with the path of its object
    (``found duplicate key 'kind' in items[3]``), or None. Never quotes a value. About three times
    the cost of an orjson parse: only for documents ``unchanged_keys`` is not sure of."""
    found: list[tuple[str, dict[str, Any]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs) and not found:
            found.append((_first_repeat(pairs), obj))
        return obj

    root = json.loads(text, object_pairs_hook=pairs_hook)
    if not found:
        return None
    key, obj = found[0]
    where = _path_to(root, obj)
    return f"found duplicate key {key[:80]!r}" + (f" in {where}" if where else "")


def _first_repeat(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return ""


def _path_to(root: Any, target: dict[str, Any]) -> str:
    """The path of ``target`` in ``root`` (``items[3].metadata``; empty for the root), iteratively."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if value is target:
            text = "".join(path).lstrip(".")
            return text if len(text) <= 200 else "…" + text[-200:]
        if isinstance(value, dict):
            stack.extend((v, (*path, f".{k[:80]}")) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, f"[{i}]")) for i, v in enumerate(value))
    return ""

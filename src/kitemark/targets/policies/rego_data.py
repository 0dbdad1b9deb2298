"""The data documents of a policies target, loaded as ``opa test`` loads them: every ``data.json``,
``data.yaml`` (or ``data.yml``) under the target, its document placed under ``data`` at the path of its
directory relative to the target (``a/b/data.json`` → ``data.a.b``; one at the root is merged into
``data`` itself and must be an object), all merged into one document (objects merge key by key; two
files giving a value at the same path is a merge error, as in OPA).

Only these names are read: plain ``opa test DIR`` also loads every other ``*.json``/``*.yaml`` file
under DIR, which in a policies target would be Gatekeeper suites, templates and objects. A file that
cannot be read, is not valid JSON/YAML, or does not merge is an ``InputError`` naming it; it is left
out of the document, and every Rego test of the target carries the error (a test could depend on it).
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import yaml

from kitemark.core import input_limits, jsonio
from kitemark.core.kinds import InputError
from kitemark.core.resources import InputTree
from kitemark.core.yamlfile import Loader, error_text

DATA_FILES = ("data.json", "data.yaml", "data.yml")


class _Refused(Exception):
    """One data file that cannot be used: the message of its input error, and the line if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def collect_rego_data(tree: InputTree, errors: list[InputError]) -> dict[str, Any]:
    """``{"files": [relpath...], "document": {...}, "errors": [InputError dicts]}``: the files merged
    into ``document``, and those left out with why (also appended to ``errors``), including a data file
    the walk refused (a link out of the target)."""
    document: dict[str, Any] = {}
    loaded: list[tuple[str, tuple[str, ...]]] = []
    refused = [  # a link out of the target, or `DATA.json` (OPA reads only the lower-case names)
        InputError(r.path, r.reason)
        for r in tree.refused_for(DATA_FILES)
        if not r.folder and posixpath.basename(r.path).lower() in DATA_FILES
    ]
    for path in tree.files(DATA_FILES):
        if path.name not in DATA_FILES:
            continue  # `mydata.json` ends like one, but opa reads only these names
        rel = tree.rel(path)
        at = tuple(Path(rel).parent.parts)
        try:
            value = _read(path)
            if not at and not isinstance(value, dict):
                raise _Refused(
                    f"the data document at the target's root must be an object, not {_kind(value)}"
                )
            placed = _placed(at, value)
            _check_merge(document, placed, loaded, ())  # first, so a file that conflicts changes nothing
            _merge(document, placed)
        except _Refused as exc:
            refused.append(InputError(rel, exc.message, exc.line))
            continue
        loaded.append((rel, at))
    errors.extend(refused)
    return {
        "files": [rel for rel, _ in loaded],
        "document": document,
        "errors": [e.to_dict() for e in refused],
    }


def _read(path: Path) -> Any:
    try:
        text = input_limits.read_text(path)
    except (OSError, UnicodeDecodeError, input_limits.LimitExceeded) as exc:
        raise _Refused(f"cannot read the data file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        with input_limits.parse_deadline():  # as snapshot files: a deadline, charged to the target
            return _parse(path, text)
    except input_limits.LimitExceeded as exc:
        raise _Refused(f"cannot read the data file: {exc}") from None


def _parse(path: Path, text: str) -> Any:
    if path.suffix == ".json":
        try:
            # Strict JSON (no NaN), bounded in size and depth; the message never quotes the source.
            return jsonio.load_document(text)
        except jsonio.InvalidJSON as exc:
            raise _Refused(f"invalid JSON data: {exc.message}", exc.line) from None
    try:
        documents = [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
    except yaml.YAMLError as exc:
        message, line = error_text(exc)
        raise _Refused(f"invalid YAML data: {message}", line) from None
    if len(documents) > 1:
        raise _Refused(f"a data file holds one YAML document, this one holds {len(documents)}")
    value = documents[0] if documents else None
    try:
        # As OPA converts YAML to JSON: keys become strings; a value JSON has no type for is an error.
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise _Refused(f"the data holds a value JSON cannot represent ({exc})") from None


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _placed(at: tuple[str, ...], value: Any) -> dict[str, Any]:
    for part in reversed(at):
        value = {part: value}
    return value if isinstance(value, dict) else {}


def _merge(into: dict[str, Any], value: dict[str, Any]) -> None:
    for key, item in value.items():
        if isinstance(into.get(key), dict) and isinstance(item, dict):
            _merge(into[key], item)
        else:
            into[key] = item


def _check_merge(
    into: dict[str, Any],
    value: dict[str, Any],
    loaded: list[tuple[str, tuple[str, ...]]],
    at: tuple[str, ...],
) -> None:
    for key, item in value.items():
        if key not in into:
            continue
        here = (*at, key)
        if isinstance(into[key], dict) and isinstance(item, dict):
            _check_merge(into[key], item, loaded, here)
            continue
        others = [rel for rel, prefix in loaded if _overlaps(prefix, here)]
        raise _Refused(
            f"merge error: data.{'.'.join(here)} is also given by {', '.join(others) or 'another data file'}"
        )


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]

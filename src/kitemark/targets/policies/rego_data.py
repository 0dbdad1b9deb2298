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
from pathlib import Path
from typing import Any

import yaml

from kitemark.core.kinds import InputError
from kitemark.core.yamlfile import Loader, error_text
from kitemark.targets.policies.files import relative_path, target_files

DATA_FILES = ("data.json", "data.yaml", "data.yml")


class _Refused(Exception):
    """One data file that cannot be used: the message of its input error, and the line if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def collect_rego_data(root: Path, errors: list[InputError]) -> dict[str, Any]:
    """``{"files": [relpath...], "document": {...}, "errors": [InputError dicts]}``: the files merged
    into ``document``, and those left out with why (also appended to ``errors``)."""
    document: dict[str, Any] = {}
    loaded: list[tuple[str, tuple[str, ...]]] = []
    refused: list[InputError] = []
    for path in target_files(root, DATA_FILES):
        if path.name not in DATA_FILES:
            continue  # `mydata.json` ends like one, but opa reads only these names
        rel = relative_path(root, path)
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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"cannot read the data file: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix == ".json":
        try:
            return json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            # exc.msg only: str(exc) is fine too, but the source text must never be quoted.
            raise _Refused(f"invalid JSON data: {exc.msg} at column {exc.colno}", exc.lineno) from None
        except ValueError as exc:
            raise _Refused(f"invalid JSON data: {exc}") from None
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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

"""The one YAML dialect Kitemark reads: YAML 1.1 safe loading (libyaml's parser when present) with
two changes that matter for evidence.

- Timestamps stay strings, as in JSON and the Kubernetes API; an impossible date (``2030-02-30``)
  is then reported against the entry that holds it instead of crashing the parser.
- A key repeated in one mapping is an error (``duplicate key``), never last-one-wins: a Namespace
  document turned into a Secret by a later ``kind:`` must not be read as either.

``load_config_file`` is for Kitemark's own configuration (waivers, ``kitemark.yaml``, frameworks):
any problem is a one-line ``UsageError`` naming the file and line. Target readers (cluster snapshots,
Gatekeeper suites) use ``Loader`` and turn problems into input errors instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kitemark.core.errors import UsageError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):
    """Safe loader: no timestamp resolver, duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key is reported by the base class
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {str(key)[:80]!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def error_text(exc: yaml.YAMLError) -> tuple[str, int | None]:
    """(message, line) for a YAML error, built from its problem and context only: ``str(exc)`` quotes
    the offending source line, which may hold a secret."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        text = "; ".join(part for part in (exc.context, exc.problem) if part) or type(exc).__name__
        return " ".join(text.split()), (mark.line + 1 if mark else None)
    return type(exc).__name__, None


def loads(text: str) -> Any:
    return yaml.load(text, Loader=Loader)


def load_config_file(path: Path, what: str) -> Any:
    """A Kitemark configuration file (``what`` names it in errors), or a one-line UsageError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read ({exc})") from None
    try:
        return loads(text)
    except yaml.YAMLError as exc:
        message, line = error_text(exc)
        where = f"{path}:{line}" if line else str(path)
        raise UsageError(f"{where}: {what} is not valid YAML ({message})") from None

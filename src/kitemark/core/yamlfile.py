"""The one YAML dialect Kitemark reads: YAML 1.1 safe loading (libyaml's parser when present) with
changes that matter for evidence.

- Timestamps stay strings, as in JSON and the Kubernetes API; an impossible date (``2030-02-30``)
  is then reported against the entry that holds it instead of crashing the parser.
- A key repeated in one mapping is an error (``duplicate key``), never last-one-wins: a Namespace
  document turned into a Secret by a later ``kind:`` must not be read as either.
- Bounded (``kitemark.core.input_limits``): a text over the size limit, a document nested too deep, an
  alias that refers to itself, or aliases that expand past the node limit ("billion laughs") or repeat
  more scalar text than the text limit (one long string aliased thousands of times) are refused before
  anything is built. What aliases add is also charged to the target's budget, if one is open (over it:
  ``LimitExceeded``), and the parse deadline is checked between documents.
- Explicit tags give JSON's values: ``!!timestamp`` a string, ``!!binary`` its base64 text, ``!!set`` a
  mapping to nulls, ``!!omap``/``!!pairs`` a list of one-key mappings; an integer past 64 bits becomes
  a float (as in JSON); a value that cannot be read as its tag (``!!int x``) or an unknown tag
  (``password: !Pr0d…`` is a tag to YAML) is an error that never quotes the value.

Every problem is a ``yaml.YAMLError``, and ``error_text`` renders it without source text.
``load_config_file`` is for Kitemark's own configuration (waivers, ``kitemark.yaml``, frameworks):
any problem is a one-line ``UsageError`` naming the file and line. Target readers (cluster snapshots,
Gatekeeper suites) use ``Loader`` and turn problems into input errors instead.
"""

from __future__ import annotations

import binascii
import re
from pathlib import Path
from typing import Any

import yaml

from kitemark.core import input_limits
from kitemark.core.errors import UsageError
from kitemark.core.input_limits import MAX_ALIAS_NODES, MAX_ALIAS_TEXT, MAX_DEPTH, LimitExceeded

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_Scalar, _Sequence, _Mapping = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


class Refused(yaml.constructor.ConstructorError):
    """A problem Kitemark itself words; its text quotes nothing from the source."""

    def __init__(self, problem: str, node: yaml.Node | None = None) -> None:
        super().__init__(None, None, problem, node.start_mark if node is not None else None)


class Loader(_Base):
    """Safe loader: bounded, no timestamp resolver, duplicate keys refused, tags read as JSON values."""

    def __init__(self, stream: Any) -> None:
        # Refused on the first read, where every caller already handles YAMLError.
        self._too_large = isinstance(stream, str | bytes) and len(stream) > input_limits.MAX_FILE_MB * 2**20
        # Only an alias (`*name`) shares nodes; a text without `*` needs the cheaper check (depth only).
        if isinstance(stream, str):
            self._aliases = "*" in stream
        else:
            self._aliases = b"*" in stream if isinstance(stream, bytes) else True
        super().__init__("" if self._too_large else stream)
        # What aliases have added so far in this text: the limits hold per file, so a file of many
        # documents each just under them is refused as a whole.
        self._alias_nodes = 0
        self._alias_text = 0

    def _guard(self) -> None:
        if self._too_large:
            raise Refused(str(input_limits.too_large()))
        input_limits.check_deadline()  # between documents, where no signal can stop the parse

    def check_node(self) -> bool:
        self._guard()
        return bool(super().check_node())

    def get_node(self) -> Any:
        self._guard()
        try:
            return super().get_node()
        except RecursionError:  # only the pure-Python composer recurses; libyaml stops at 1,000 levels
            raise Refused(str(input_limits.too_deep())) from None

    def get_single_node(self) -> Any:
        self._guard()
        try:
            return super().get_single_node()
        except RecursionError:
            raise Refused(str(input_limits.too_deep())) from None

    def construct_document(self, node: yaml.Node) -> Any:
        if self._aliases:
            nodes, text = check_graph(node, self._alias_nodes, self._alias_text)
            budget = input_limits.current_budget()
            if budget is not None:  # and the whole target's (``LimitExceeded``, as the deadline)
                budget.charge_aliases(nodes - self._alias_nodes, text - self._alias_text)
            self._alias_nodes, self._alias_text = nodes, text
        else:
            check_depth(node)
        try:
            return super().construct_document(node)
        except yaml.YAMLError:
            raise
        except RecursionError:
            raise Refused(str(input_limits.too_deep()), node) from None
        except MemoryError:
            raise Refused("document too large to build in memory", node) from None
        except Exception:  # a constructor failing outside construct_object: no value to quote
            raise Refused("a value that cannot be read", node) from None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError, MemoryError):
            raise
        except Exception:
            # PyYAML's own messages quote the value (`invalid literal for int(): 'Pr0d…'`), and some
            # tags crash it (`!!timestamp x`, `!!bool x`): name the tag, never the value.
            raise Refused(f"a value that cannot be read as {_short(node.tag)}", node) from None

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

    def construct_int(self, node: yaml.ScalarNode) -> int | float:
        value: int = self.construct_yaml_int(node)
        if -(2**63) <= value < 2**64:
            return value
        try:  # JSON readers (orjson, Go) give such a number as a float; so does Kitemark's YAML
            return float(value)
        except OverflowError:
            raise Refused("an integer too large to read", node) from None

    def construct_timestamp(self, node: yaml.ScalarNode) -> str:
        text = str(self.construct_scalar(node))
        if not self.timestamp_regexp.match(text):
            raise Refused("a !!timestamp value that is not a date", node)
        return text

    def construct_binary(self, node: yaml.ScalarNode) -> str:
        """The base64 text, as Kubernetes' JSON gives binary data (Secret ``data``)."""
        text = "".join(str(self.construct_scalar(node)).split())
        try:
            binascii.a2b_base64(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise Refused("a !!binary value that is not base64", node) from None
        return text

    def construct_set(self, node: yaml.Node) -> Any:
        """A YAML set is a mapping to nulls; JSON has no set, so it stays that mapping."""
        return (yield from self.construct_yaml_map(node))

    def construct_unknown(self, node: yaml.Node) -> Any:
        raise Refused("unknown YAML tag (a value starting with '!' is read as a tag: quote it)", node)


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_constructor(_TAG + "int", Loader.construct_int)
Loader.add_constructor(_TAG + "timestamp", Loader.construct_timestamp)
Loader.add_constructor(_TAG + "binary", Loader.construct_binary)
Loader.add_constructor(_TAG + "set", Loader.construct_set)
Loader.add_constructor(_TAG + "omap", Loader.construct_yaml_seq)
Loader.add_constructor(_TAG + "pairs", Loader.construct_yaml_seq)
Loader.add_constructor(None, Loader.construct_unknown)


def _short(tag: str | None) -> str:
    """``!!int`` for a YAML tag; any other tag is not shown (it may be a value written after ``!``)."""
    if tag and tag.startswith(_TAG) and tag[len(_TAG) :].isalpha():
        return f"!!{tag[len(_TAG) :]}"
    return "its tag"


def check_depth(root: yaml.Node) -> None:
    """Refuse a tree of nodes (no aliases) nested deeper than MAX_DEPTH: one pass per level, each a
    comprehension over that level's containers (a walk node by node doubles the cost of reading)."""
    level = [root] if not isinstance(root, _Scalar) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise Refused(str(input_limits.too_deep()), level[0])
        inner = [c for n in level if isinstance(n, _Sequence) for c in n.value if not isinstance(c, _Scalar)]
        inner += [
            c
            for n in level
            if isinstance(n, _Mapping)
            for pair in n.value
            for c in pair
            if not isinstance(c, _Scalar)
        ]
        level = inner


def check_graph(root: yaml.Node, nodes_before: int = 0, text_before: int = 0) -> tuple[int, int]:
    """Refuse a document (its node graph, before anything is built) that nests deeper than MAX_DEPTH,
    holds an alias to an enclosing anchor (a cycle), or whose aliases would expand it, with the
    earlier documents of its file (``nodes_before``, ``text_before``), by more than MAX_ALIAS_NODES
    nodes or repeat more than MAX_ALIAS_TEXT characters of scalar text. An alias to a scalar is the
    same node again: it counts as a node, and its text, each time it appears. Linear in the nodes of
    the text: shared containers are measured once. Returns the file's totals so far."""
    size: dict[int, int] = {}  # container id -> nodes once aliases are expanded
    text: dict[int, int] = {}  # container id -> characters of its scalars once aliases are expanded
    depth: dict[int, int] = {}  # container id -> container levels
    written = 0  # nodes as written: each container once
    scalars_seen: dict[int, int] = {}  # scalar id -> its length (each scalar node of the text once)
    open_nodes: set[int] = set()  # containers on the current path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if not isinstance(root, _Scalar) else []
    while stack:
        node, finished = stack.pop()
        key = id(node)
        inner = _inner(node)
        if finished:
            open_nodes.discard(key)
            scalars = _scalars(node)
            scalars_seen.update((id(c), len(c.value)) for c in scalars)
            written += 1
            size[key] = 1 + len(scalars) + sum(size[id(c)] for c in inner)
            text[key] = sum(len(c.value) for c in scalars) + sum(text[id(c)] for c in inner)
            depth[key] = 1 + max((depth[id(c)] for c in inner), default=0)
            if depth[key] > MAX_DEPTH:
                raise Refused(str(input_limits.too_deep()), node)
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise Refused("a YAML alias refers to an anchor that encloses it (a recursive structure)", node)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in inner if id(c) not in size)
    if not size:
        return nodes_before, text_before
    nodes = nodes_before + size[id(root)] - written - len(scalars_seen)
    repeated = text_before + text[id(root)] - sum(scalars_seen.values())
    if nodes > MAX_ALIAS_NODES:
        raise Refused(f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} extra nodes (the limit)", root)
    if repeated > MAX_ALIAS_TEXT:
        raise Refused(
            f"YAML aliases repeat more than {MAX_ALIAS_TEXT:,} characters of text (the limit)", root
        )
    return nodes, repeated


def _inner(node: yaml.Node) -> list[yaml.Node]:
    """The containers directly inside a sequence or mapping (keys included)."""
    if isinstance(node, _Sequence):
        return [c for c in node.value if not isinstance(c, _Scalar)]
    return [c for pair in node.value for c in pair if not isinstance(c, _Scalar)]


def _scalars(node: yaml.Node) -> list[yaml.ScalarNode]:
    """The scalars directly inside a sequence or mapping (keys included)."""
    if isinstance(node, _Sequence):
        return [c for c in node.value if isinstance(c, _Scalar)]
    return [c for pair in node.value for c in pair if isinstance(c, _Scalar)]


# A quoted single character or escape (`'\t'`) in PyYAML's messages says what broke and is kept;
# longer quoted text is a tag, handle, anchor or value from the source, which may be a secret.
_QUOTED = re.compile(r"""'(\\.[0-9a-fA-F]*|[^'\\])'|"(\\.[0-9a-fA-F]*|[^"\\])"|'[^']*'|"[^"]*\"""")


def _unquoted(text: str) -> str:
    return _QUOTED.sub(lambda m: m.group(0) if m.group(1) or m.group(2) else "…", text)


def error_text(exc: yaml.YAMLError) -> tuple[str, int | None]:
    """(message, line) for a YAML error, built from its problem and context only: ``str(exc)`` quotes
    the offending source line, which may hold a secret, and quoted source text is left out."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        text = "; ".join(part for part in (exc.context, exc.problem) if part) or type(exc).__name__
        if not isinstance(exc, Refused) and "duplicate key" not in text:
            text = _unquoted(text)
        return " ".join(text.split()), (mark.line + 1 if mark else None)
    return type(exc).__name__, None


def loads(text: str) -> Any:
    return yaml.load(text, Loader=Loader)


def load_config_file(path: Path, what: str) -> Any:
    """A Kitemark configuration file (``what`` names it in errors), or a one-line UsageError."""
    try:
        text = input_limits.read_text(path)
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except LimitExceeded as exc:
        raise UsageError(f"{what} {path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read ({exc})") from None
    try:
        with input_limits.parse_deadline():
            return loads(text)
    except LimitExceeded as exc:
        raise UsageError(f"{what} {path}: {exc}") from None
    except yaml.YAMLError as exc:
        message, line = error_text(exc)
        where = f"{path}:{line}" if line else str(path)
        raise UsageError(f"{where}: {what} is not valid YAML ({message})") from None

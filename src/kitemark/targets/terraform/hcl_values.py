"""A small static evaluator for the Terraform expressions python-hcl2 (7.x) leaves as text.

python-hcl2 returns literals as Python values and everything else as a ``"${...}"`` string holding the
expression re-serialised (object literals inside an expression come back as ``{"k": v}``, and in a
conditional even as a Python ``repr``). Checks such as "every resource carries the mandatory tags" need
to know what a ``tags = merge(local.default_tags, {...}, var.extra)`` amounts to, without running
Terraform. This module evaluates the subset that tag maps and flags are written in:

- literals, strings with ``${...}`` interpolation, object and tuple literals;
- ``var.NAME`` (its ``default``) and ``local.NAME`` (recursively), with attribute and index access;
- ``merge``, ``tomap``, ``lookup``, ``coalesce``, ``concat``, ``join``, ``lower``, ``upper``, ``trimspace``,
  ``tostring``, ``toset``, ``tolist``, ``keys``, ``values``, ``length``, ``flatten``, ``compact``, ``try``,
  ``can`` and the usual operators and conditionals (an expression that certainly fails, such as a missing
  key of a known map, is an ``Unknown`` marked ``error``, which ``try`` moves past);
- names bound with ``Evaluator.bind`` (a ``dynamic`` block's iterator).

Anything else (resource and module attributes, ``for`` expressions, splats, other functions, a variable
without a default) evaluates to ``Unknown(reason)`` — never to a guess. A template with unknown parts
keeps its shape (``Unknown.pattern``: ``kubernetes.io/cluster/${var.name}`` can only be a string starting
``kubernetes.io/cluster/``). ``merge`` of known maps and unknown ones, or a map literal with a computed
key, gives a ``PartialMap``: the keys we can see plus the unknown parts, because a later map in ``merge``
can add keys or change values but never remove one; ``PartialMap.may_contain`` says whether an unknown
part could hold a given key.

Every variable default an evaluation reads is recorded: ``defaults_used()`` collects them (``var.x = 1
(m/variables.tf:4)``) so a finding can say it holds only while the caller keeps those defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

META_KEYS = frozenset({"__start_line__", "__end_line__"})


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known statically; ``reason`` names the expression responsible. ``pattern``
    (a regular expression) is what a string value could be, when a template fixes part of it. ``error``
    marks an expression that certainly fails (a missing key of a known map): ``try()`` moves past it."""

    reason: str
    pattern: str | None = None
    error: bool = False

    def __str__(self) -> str:
        return self.reason

    def could_be(self, text: str) -> bool:
        return self.pattern is None or re.fullmatch(self.pattern, text, re.S) is not None


@dataclass
class PartialMap:
    """A map whose listed keys are certain but which may hold more: ``unresolved`` are the unknown parts
    (a map that could hold any key, or one computed key whose ``pattern`` says what it could be)."""

    known: dict[str, Any]
    unresolved: list[Unknown] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(u.reason for u in self.unresolved)

    def may_contain(self, key: str) -> bool:
        """Could the unknown part hold ``key``? (A key already known is not asked about.)"""
        return any(u.could_be(key) for u in self.unresolved)


@dataclass(frozen=True)
class DefaultUse:
    """A variable default an evaluation read: ``var.create = true (m/variables.tf:4)`` as ``text``; ``owner``
    is the path of the module declaring the variable."""

    owner: str
    name: str
    text: str

    def __str__(self) -> str:
        return self.text


class DefaultsUsed:
    """The variable defaults read inside a ``defaults_used()`` block, in first-read order."""

    def __init__(self) -> None:
        self.entries: list[DefaultUse] = []

    def add(self, entries: Iterable[DefaultUse]) -> None:
        self.entries.extend(e for e in entries if e not in self.entries)


_TRACES: ContextVar[tuple[DefaultsUsed, ...]] = ContextVar("terraform_defaults_used", default=())


@contextmanager
def defaults_used() -> Iterator[DefaultsUsed]:
    """Collect the variable defaults the evaluations inside the block read (nested blocks see theirs too)."""
    trace = DefaultsUsed()
    token = _TRACES.set((*_TRACES.get(), trace))
    try:
        yield trace
    finally:
        _TRACES.reset(token)


def _record(entries: Iterable[DefaultUse]) -> None:
    entries = tuple(entries)
    for trace in _TRACES.get():
        trace.add(entries)


def _show_default(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


class _Syntax(Exception):
    """The expression text is outside the subset this parser reads."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_BARE_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(=(?![=>])|:)")
# Template keys as python-hcl2 re-serialises them inside expressions (see _Parser._object_key).
_REPR_TEMPLATE_KEY = re.compile(r"""\s*'"(?P<text>(?:[^'\\]|\\.)*?\$\{(?:[^'\\]|\\.)*?)"'(?=\s*[:=])""")
_JSON_TEMPLATE_KEY = re.compile(r'\s*"(?:\\"|")(?P<text>(?:(?!"").)*?\$\{(?:(?!"").)*?)""(?=\s*[:=])')
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
# Python repr spellings seen inside conditionals, and HCL's own keywords.
_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def strip_meta(body: Mapping[str, Any]) -> dict[str, Any]:
    """A block body without python-hcl2's line-number keys."""
    return {k: v for k, v in body.items() if k not in META_KEYS}


def expression_text(raw: Any) -> str:
    """How an attribute value reads in source, for messages: ``"${var.x}"`` -> ``var.x``."""
    if isinstance(raw, str) and raw.startswith("${") and raw.endswith("}") and raw.count("${") == 1:
        return raw[2:-1]
    if isinstance(raw, str):
        return f'"{raw}"'
    return repr(raw)


class Evaluator:
    """Evaluates raw python-hcl2 values of one module against its variable defaults and locals."""

    def __init__(
        self,
        variables: Mapping[str, Mapping[str, Any]],
        locals_: Mapping[str, Any],
        bindings: Mapping[str, Any] | None = None,
        *,
        origins: Mapping[str, str] | None = None,
        owner: str = "",
    ) -> None:
        self._variables = variables
        self._locals = locals_
        self._bindings: Mapping[str, Any] = bindings or {}
        # Where each variable is declared (``m/variables.tf:4``), for what ``defaults_used`` records.
        self._origins: Mapping[str, str] = origins or {}
        self._owner = owner
        self._local_cache: dict[str, tuple[Any, tuple[DefaultUse, ...]]] = {}
        self._resolving: set[str] = set()

    def bind(self, names: Mapping[str, Any]) -> Evaluator:
        """An evaluator that also knows ``names`` (a ``dynamic`` block's iterator: ``tag.key``,
        ``tag.value``). Locals never see the bindings (as in Terraform), so the cache is shared."""
        child = Evaluator(
            self._variables,
            self._locals,
            {**self._bindings, **names},
            origins=self._origins,
            owner=self._owner,
        )
        child._local_cache = self._local_cache
        child._resolving = self._resolving
        return child

    def value(self, raw: Any) -> Any:
        """The value of an attribute as python-hcl2 returned it."""
        if isinstance(raw, str):
            return self.template(raw)
        if isinstance(raw, Mapping):
            return _make_map((self._key(k), self.value(v)) for k, v in raw.items() if k not in META_KEYS)
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        return raw

    def template(self, text: str) -> Any:
        """A top-level string: a literal, a template, or ``${expr}`` standing for the expression's value."""
        if "${" not in text and "%{" not in text:
            return text
        try:
            return _Parser(text, self).template(quote=None)
        except _Syntax as exc:
            return Unknown(f"`{expression_text(text)}` ({exc})")

    def expression(self, text: str) -> Any:
        try:
            parser = _Parser(text, self)
            result = parser.expression()
            parser.end()
            return result
        except _Syntax as exc:
            return Unknown(f"`{text}` ({exc})")

    def reference(self, root: str, path: list[str | int], text: str) -> Any:
        """``var.x``, ``local.y`` and anything else (resources, modules, data sources, ``each``...)."""
        if root == "var" and path and isinstance(path[0], str):
            name = path[0]
            declared = self._variables.get(name)
            if declared is None:
                return Unknown(f"`var.{name}` is not declared in this module")
            if "default" not in declared:
                return Unknown(f"`var.{name}` has no default (set by the caller)")
            default = self.value(declared["default"])
            where = self._origins.get(name)
            text = f"var.{name} = {_show_default(default)}" + (f" ({where})" if where else "")
            _record([DefaultUse(self._owner, name, text)])
            return _traverse(default, path[1:], text)
        if root == "local" and path and isinstance(path[0], str):
            return _traverse(self._local(path[0]), path[1:], text)
        if root in self._bindings:
            return _traverse(self._bindings[root], path, text)
        return Unknown(f"`{text}` is not evaluated statically")

    def _local(self, name: str) -> Any:
        if name in self._local_cache:
            result, used = self._local_cache[name]
            _record(used)  # a cached local still depends on the defaults it was computed from
            return result
        if name not in self._locals:
            return Unknown(f"`local.{name}` is not defined in this module")
        if name in self._resolving:
            return Unknown(f"`local.{name}` refers to itself")
        self._resolving.add(name)
        try:
            with defaults_used() as trace:
                result = self.value(self._locals[name])
        finally:
            self._resolving.discard(name)
        self._local_cache[name] = (result, tuple(trace.entries))
        return result

    def _key(self, key: str) -> Any:
        # python-hcl2 writes a template key with its quotes ('"x/${var.k}"') and a parenthesised one as
        # "${(var.k)}"; a literal key comes without quotes.
        if "${" not in key:
            return key
        text = key[1:-1] if len(key) > 1 and key.startswith('"') and key.endswith('"') else key
        return computed_key(self.template(text), text)


def _failed(reason: str) -> Unknown:
    return Unknown(reason, error=True)


def computed_key(value: Any, text: str) -> str | Unknown:
    """A map key from its evaluated expression: a string, or an ``Unknown`` keeping its template's shape."""
    if isinstance(value, Unknown | PartialMap):
        unknown = _first_unknown(value)
        assert unknown is not None
        return Unknown(f"computed key `{text}`: {unknown.reason}", unknown.pattern)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _failed(f"computed key `{text}` is not a string: {value!r}")
    return str(value)


def _make_map(items: Any) -> Any:
    known: dict[str, Any] = {}
    unresolved: list[Unknown] = []
    for key, value in items:
        if isinstance(key, Unknown):
            unresolved.append(key)
        else:
            known[str(key)] = value
    return PartialMap(known, unresolved) if unresolved else known


def _traverse(value: Any, path: list[str | int], text: str) -> Any:
    for step in path:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, PartialMap):
            if isinstance(step, str) and step in value.known:
                value = value.known[step]
                continue
            if isinstance(step, str) and not value.may_contain(step):
                return _failed(f"`{text}`: no element {step!r}")
            return Unknown(f"`{text}`: {value.reason}")
        if isinstance(value, Mapping) and str(step) in value:
            value = value[str(step)]
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return _failed(f"`{text}`: no element {step!r}")
    return value


def _first_unknown(*values: Any) -> Unknown | None:
    for v in values:
        if isinstance(v, Unknown):
            return v
        if isinstance(v, PartialMap):
            return Unknown(v.reason)
    return None


def _merge(*args: Any) -> Any:
    known: dict[str, Any] = {}
    unresolved: list[Unknown] = []
    for arg in args:
        if arg is None:
            continue
        if isinstance(arg, Unknown):
            if arg.error:
                return arg
            # A whole unknown map may hold any key, whatever shape a string in its place would have.
            unresolved.append(Unknown(arg.reason))
        elif isinstance(arg, PartialMap):
            known.update(arg.known)
            unresolved.extend(arg.unresolved)
        elif isinstance(arg, Mapping):
            known.update(arg)
        else:
            return _failed(f"merge() of a non-map value {arg!r}")
    return PartialMap(known, unresolved) if unresolved else known


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    if unknown := _first_unknown(key):
        return unknown
    if isinstance(mapping, PartialMap):
        if key in mapping.known:
            return mapping.known[key]
        if not mapping.may_contain(str(key)):
            return default[0] if default else _failed(f"lookup(): no key {key!r}")
        return Unknown(mapping.reason)
    if isinstance(mapping, Unknown):
        return mapping
    if isinstance(mapping, Mapping) and key in mapping:
        return mapping[key]
    return default[0] if default else _failed(f"lookup(): no key {key!r}")


def _coalesce(*args: Any) -> Any:
    for arg in args:
        if isinstance(arg, Unknown | PartialMap):
            return _first_unknown(arg)
        if arg not in (None, ""):
            return arg
    return Unknown("coalesce(): every argument is null or empty")


def _strict(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A function whose result is unknown as soon as any argument is."""

    def call(*args: Any) -> Any:
        if unknown := _first_unknown(*args):
            return unknown
        return fn(*args)

    return call


def _toset(values: Any) -> Any:
    # A set is kept as a list in first-seen order; its elements are what for_each iterates over.
    if not isinstance(values, list):
        raise TypeError(f"toset() of a non-list value {values!r}")
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _keys(mapping: Any) -> Any:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"keys() of a non-map value {mapping!r}")
    return sorted(mapping)


def _values(mapping: Any) -> Any:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"values() of a non-map value {mapping!r}")
    return [mapping[k] for k in sorted(mapping)]


def _has_error(value: Any) -> bool:
    """Does evaluating this value certainly fail somewhere inside?"""
    if isinstance(value, Unknown):
        return value.error
    if isinstance(value, PartialMap):
        return _has_error(value.known) or any(u.error for u in value.unresolved)
    if isinstance(value, Mapping):
        return any(_has_error(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_error(v) for v in value)
    return False


def _try(*args: Any) -> Any:
    """The first argument that does not fail. An unknown one may or may not fail: the result is unknown."""
    for arg in args:
        if _has_error(arg):
            continue
        return arg
    return _failed("try(): every argument fails")


def _can(value: Any) -> Any:
    if _has_error(value):
        return False
    return value if isinstance(value, Unknown) else True


def _flatten(values: Any) -> Any:
    if not isinstance(values, list):
        raise TypeError(f"flatten() of a non-list value {values!r}")
    out: list[Any] = []
    for v in values:
        if isinstance(v, Unknown | PartialMap):
            return _first_unknown(v)
        flat = _flatten(v) if isinstance(v, list) else [v]
        if isinstance(flat, Unknown):
            return flat
        out.extend(flat)
    return out


def _compact(values: Any) -> Any:
    if not isinstance(values, list):
        raise TypeError(f"compact() of a non-list value {values!r}")
    if unknown := _first_unknown(*values):
        return unknown
    return [v for v in values if v not in (None, "")]


def _tostring(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if v is None else str(v)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge,
    "tomap": lambda m: m,
    "lookup": _lookup,
    "coalesce": _coalesce,
    "concat": _strict(lambda *lists: [x for lst in lists for x in lst]),
    "join": _strict(lambda sep, lst: sep.join(_tostring(x) for x in lst)),
    "lower": _strict(lambda s: s.lower()),
    "upper": _strict(lambda s: s.upper()),
    "trimspace": _strict(lambda s: s.strip()),
    "tostring": _strict(_tostring),
    "toset": _strict(_toset),
    "tolist": _strict(lambda v: list(v) if isinstance(v, list) else _toset(v)),
    "keys": _strict(_keys),
    "try": _try,
    "can": _can,
    "flatten": _strict(_flatten),
    "compact": _strict(_compact),
    "values": _strict(_values),
    "length": _strict(lambda v: len(v) if isinstance(v, list | str | Mapping) else _toset(v)),
}

# Binary operators by precedence, loosest first.
_BINARY: list[tuple[str, ...]] = [
    ("||",),
    ("&&",),
    ("==", "!="),
    (">=", "<=", ">", "<"),
    ("+", "-"),
    ("*", "/", "%"),
]


def _apply(op: str, a: Any, b: Any) -> Any:
    if unknown := _first_unknown(a, b):
        return unknown
    try:
        return {
            "||": lambda: bool(a) or bool(b),
            "&&": lambda: bool(a) and bool(b),
            "==": lambda: a == b,
            "!=": lambda: a != b,
            ">=": lambda: a >= b,
            "<=": lambda: a <= b,
            ">": lambda: a > b,
            "<": lambda: a < b,
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "/": lambda: a / b,
            "%": lambda: a % b,
        }[op]()
    except (TypeError, ZeroDivisionError, ValueError):
        return _failed(f"operator {op} on {a!r} and {b!r}")


class _Parser:
    """Recursive descent over one expression's text, evaluating as it goes (it has no side effects)."""

    def __init__(self, text: str, ev: Evaluator) -> None:
        self.s = text
        self.i = 0
        self.ev = ev

    # -- lexical helpers
    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def peek(self, token: str) -> bool:
        self.ws()
        return self.s.startswith(token, self.i)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.i += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            found = self.s[self.i : self.i + 12] or "end of expression"
            raise _Syntax(f"expected {token!r} at {found!r}")

    def end(self) -> None:
        self.ws()
        if self.i != len(self.s):
            raise _Syntax(f"unexpected {self.s[self.i : self.i + 12]!r}")

    def name(self) -> str | None:
        self.ws()
        m = _NAME.match(self.s, self.i)
        if not m:
            return None
        self.i = m.end()
        return m.group()

    # -- expressions
    def expression(self) -> Any:
        cond = self.binary(0)
        if not self.take("?"):
            return cond
        yes = self.expression()
        self.expect(":")
        no = self.expression()
        if isinstance(cond, Unknown | PartialMap):
            return _first_unknown(cond)
        return yes if cond else no

    def binary(self, level: int) -> Any:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            # Longer operators come first in each group, so ">=" is never read as ">".
            op = next((o for o in _BINARY[level] if self.peek(o)), None)
            if op is None:
                return left
            self.i += len(op)
            left = _apply(op, left, self.binary(level + 1))

    def unary(self) -> Any:
        if self.take("!"):
            v = self.unary()
            return _first_unknown(v) or (not v)
        if self.take("-"):
            v = self.unary()
            return _first_unknown(v) or _apply("-", 0, v)
        return self.postfix()

    def postfix(self) -> Any:
        start = self.i
        value, ref = self.primary()
        path: list[str | int] = []
        unknown_index: Any = None
        while True:
            if self.peek(".*") or self.peek("[*]"):
                raise _Syntax("splat expressions are not evaluated")
            if self.peek("...") or not (self.peek(".") or self.peek("[")):
                break
            if self.take("."):
                step: str | int | None = self.name()
                if step is None:
                    m = re.compile(r"\d+").match(self.s, self.i)
                    if not m:
                        raise _Syntax("expected an attribute name after '.'")
                    self.i = m.end()
                    step = int(m.group())
            else:
                self.expect("[")
                index = self.expression()
                self.expect("]")
                if isinstance(index, Unknown | PartialMap):
                    unknown_index = unknown_index or _first_unknown(index)
                    continue
                step = index if isinstance(index, int) else str(index)
            path.append(step)
        if unknown_index is not None:
            return unknown_index
        if ref is not None:
            text = self.s[start : self.i].strip()
            return self.ev.reference(ref, path, text)
        return _traverse(value, path, self.s[start : self.i].strip())

    def primary(self) -> tuple[Any, str | None]:
        """The value of a primary term, or (None, root) for a reference to be resolved with its path."""
        self.ws()
        if self.i >= len(self.s):
            raise _Syntax("unexpected end of expression")
        ch = self.s[self.i]
        if ch in "\"'":
            self.i += 1
            return self.template(quote=ch), None
        if ch == "(":
            self.i += 1
            value = self.expression()
            self.expect(")")
            return value, None
        if ch == "{":
            return self.object(), None
        if ch == "[":
            return self.tuple(), None
        m = _NUMBER.match(self.s, self.i)
        if m:
            self.i = m.end()
            text = m.group()
            return (float(text) if any(c in text for c in ".eE") else int(text)), None
        name = self.name()
        if name is None:
            raise _Syntax(f"unexpected {self.s[self.i : self.i + 12]!r}")
        if self.peek("::"):
            raise _Syntax("provider-defined functions are not evaluated")
        if self.take("("):
            return self.call(name), None
        if name in _CONSTANTS:
            return _CONSTANTS[name], None
        return None, name

    def call(self, name: str) -> Any:
        args: list[Any] = []
        while not self.take(")"):
            args.append(self.expression())
            if self.take("..."):
                raise _Syntax("argument expansion (...) is not evaluated")
            if not self.take(","):
                self.expect(")")
                break
        fn = _FUNCTIONS.get(name)
        if fn is None:
            return Unknown(f"function `{name}()` is not evaluated statically")
        try:
            return fn(*args)
        except (TypeError, AttributeError, ValueError) as exc:
            return _failed(f"`{name}()`: {exc}")

    def object(self) -> Any:
        self.expect("{")
        if self._for_ahead():
            return self._skip_for("{", "}")
        items: list[tuple[Any, Any]] = []
        while not self.take("}"):
            key = self._object_key()
            if not (self.take("=") or self.take(":")):
                raise _Syntax("expected '=' or ':' in an object")
            items.append((key, self.expression()))
            self.take(",")
        return _make_map(items)

    def _object_key(self) -> str | Unknown:
        bare = _BARE_KEY.match(self.s, self.i)
        if bare:  # an identifier key is the literal string, not a reference
            self.i = bare.start(2)
            return bare.group(1)
        # python-hcl2 re-serialises a template key inside an expression with its own quotes kept:
        # '"x/${a}"' (in a conditional's Python repr), "\"x/${a}"" or ""x/${a}"" (elsewhere).
        quoted = _REPR_TEMPLATE_KEY.match(self.s, self.i) or _JSON_TEMPLATE_KEY.match(self.s, self.i)
        if quoted:
            self.i = quoted.end()
            text = quoted.group("text")
            return computed_key(_Parser(text, self.ev).template(quote=None), text)
        start = self.i
        key = self.expression()
        return computed_key(key, self.s[start : self.i].strip().strip("\"'"))

    def tuple(self) -> Any:
        self.expect("[")
        if self._for_ahead():
            return self._skip_for("[", "]")
        items: list[Any] = []
        while not self.take("]"):
            items.append(self._tuple_item())
            if not self.take(","):
                self.expect("]")
                break
        return items

    def _tuple_item(self) -> Any:
        """One element of a tuple. Inside function calls python-hcl2 writes tuples Python-style with
        strings unquoted and references as ``${...}`` (``concat([a, ${var.b}])``), so an element that does
        not start like an expression is read as an unquoted template up to the next top-level , or ]."""
        self.ws()
        constant = re.compile(r"(true|false|null|None|True|False|-?\d[\d.eE+-]*)\s*(?=[,\]])")
        if self.i < len(self.s) and (self.s[self.i] in "\"'{[(" or constant.match(self.s, self.i)):
            return self.expression()
        start, depth = self.i, 0
        while self.i < len(self.s):
            ch = self.s[self.i]
            if depth == 0 and ch in ",]":
                break
            if self.s.startswith("${", self.i):
                depth += 1
                self.i += 1
            elif ch == "}" and depth:
                depth -= 1
            self.i += 1
        return _Parser(self.s[start : self.i].strip(), self.ev).template(quote=None)

    def _for_ahead(self) -> bool:
        self.ws()
        return re.compile(r"for\s").match(self.s, self.i) is not None

    def _skip_for(self, open_: str, close: str) -> Unknown:
        """Step over a ``for`` expression (balanced brackets, strings skipped whole) and give up on it."""
        depth = 1
        while self.i < len(self.s) and depth:
            ch = self.s[self.i]
            if ch in "\"'":
                self.i += 1
                self.template(quote=ch)
                continue
            if ch in "{[(":
                depth += 1
            elif ch in "}])":
                depth -= 1
            self.i += 1
        if depth:
            raise _Syntax(f"unbalanced {open_}{close} in a for expression")
        return Unknown("a `for` expression is not evaluated statically")

    # -- templates
    def template(self, quote: str | None) -> Any:
        """A quoted string (after its opening quote) or, with ``quote=None``, a whole top-level string."""
        parts: list[Any] = []
        literal: list[str] = []
        while True:
            if self.i >= len(self.s):
                if quote is not None:
                    raise _Syntax("unterminated string")
                break
            ch = self.s[self.i]
            if quote is not None and ch == quote:
                self.i += 1
                break
            if quote is not None and ch == "\\" and self.i + 1 < len(self.s):
                nxt = self.s[self.i + 1]
                literal.append(_ESCAPES.get(nxt, "\\" + nxt))
                self.i += 2
            elif self.s.startswith(("$${", "%%{"), self.i):
                literal.append(self.s[self.i + 1 : self.i + 3])
                self.i += 3
            elif self.s.startswith("${", self.i):
                self.i += 2
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(self.expression())
                self.expect("}")
            elif self.s.startswith("%{", self.i):
                raise _Syntax("template directives (%{...}) are not evaluated")
            else:
                literal.append(ch)
                self.i += 1
        if literal:
            parts.append("".join(literal))
        if len(parts) == 1 and not isinstance(parts[0], str):
            return parts[0]  # "${x}" is x itself, not its string form
        if unknown := _first_unknown(*parts):
            # The literal parts still say what the string could be: "team-${var.x}" is never "owner".
            return Unknown(unknown.reason, "".join(_shape(p) for p in parts), unknown.error)
        return "".join(p if isinstance(p, str) else _render(p) for p in parts)


def _shape(part: Any) -> str:
    """A regular expression for one part of a template with unknown parts."""
    if isinstance(part, Unknown):
        return f"(?:{part.pattern})" if part.pattern else ".*"
    if isinstance(part, PartialMap):
        return ".*"
    return re.escape(part if isinstance(part, str) else _render(part))


def _render(value: Any) -> str:
    if isinstance(value, Mapping | list):
        raise _Syntax("a map or list interpolated into a string")
    rendered = _tostring(value)
    return "" if rendered is None else rendered

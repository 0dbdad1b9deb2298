"""Rego engines behind one small interface.

Kitemark evaluates Rego in two places: ``opa test``-style unit tests (``test_*`` rules) and Gatekeeper
ConstraintTemplates (``violation`` rules). Both only need to load policies, add data, and evaluate a
rule or a query with an input, so that is the whole interface. ``RegorusEngine`` (Microsoft's Rust
interpreter) is the default: it runs regorus in a child process with a time and a memory limit per
call (``kitemark.engines.rego_process``; ``LocalRegorusEngine`` is the in-process engine the child
uses). An OPA-server engine can implement the same class.

Rego versions: ``parse(..., version=None)`` honours ``import rego.v1``; otherwise it tries Rego v1
(OPA 1.0's default) and falls back to v0 when the file only parses as v0. When neither parses, the
error reported is the one that got further into the file (a typo in a v0 file is reported where it
is, not as "``if`` keyword is required" on the first rule).

Compile errors (an unsafe variable, a reference to nothing) surface at the first evaluation and make
*every* evaluation of that engine fail, so collectors call ``check()`` after loading and set the
offending file aside.

Errors: every engine failure is a ``RegoError`` with a one-line message and, when the engine knows
it, ``path``, ``line`` and ``col`` (regorus's Rust backtrace is stripped); a call over a limit is a
``RegoLimitError``.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import regorus

from kitemark.engines.rego_process import (
    DEFAULT_BUDGET,
    DEFAULT_MEMORY_MIB,
    DEFAULT_TIMEOUT,
    EvaluatorStopped,
    evaluator,
)

V0 = "v0"
V1 = "v1"


class _Undefined:
    """A rule or query with no value (not the same as ``null``)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()
# "Evaluate with no input at all", as `opa test` does (distinct from an input of `null`).
NO_INPUT: Any = object()


class RegoError(Exception):
    """An engine failure, one line: ``path:line:col: message`` when the location is known."""

    def __init__(
        self, message: str, path: str | None = None, line: int | None = None, col: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col

    @property
    def where(self) -> str:
        parts = [str(p) for p in (self.path, self.line, self.col) if p is not None]
        return ":".join(parts)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class RegoSyntaxError(RegoError):
    """The policy does not parse (or is rejected when loaded)."""


class RegoEvalError(RegoError):
    """Evaluation failed: conflicting rule outputs, a builtin given the wrong type, divide by zero..."""


class RegoLimitError(RegoError):
    """A parse or an evaluation ran over Kitemark's time or memory limit (or ended the evaluator): the
    message names what was evaluated and the limit. Not a finding about the policy's logic."""

    def at(self, path: str, line: int | None = None) -> RegoLimitError:
        """The same error, placed at the file (and line) of what was evaluated."""
        return RegoLimitError(self.message, path, line)


@dataclass(frozen=True)
class RegoRule:
    """One rule definition (one head and its body; ``else`` branches belong to it)."""

    name: str
    kind: str  # "complete" | "set" | "function" | "default"
    line: int
    end_line: int = 0
    span: tuple[int, int] = (0, 0)  # UTF-8 byte offsets of the whole definition in the source
    name_span: tuple[int, int] = (0, 0)  # byte offsets of the rule name in its head (to rename it)


@dataclass(frozen=True)
class RegoModule:
    """What Kitemark needs to know about one parsed Rego file."""

    path: str
    package: tuple[str, ...]  # ("kitemark", "namespace")
    version: str  # V0 | V1: how the file parsed
    rules: tuple[RegoRule, ...] = field(default_factory=tuple)

    @property
    def package_name(self) -> str:
        return ".".join(self.package)

    @property
    def package_ref(self) -> str:
        return rule_ref(self.package)

    @property
    def test_rules(self) -> list[RegoRule]:
        """Every ``test_*`` definition ``opa test`` runs, in file order: ``test_x if {...}`` (v1),
        ``test_x {...}`` (v0) and ``test_x := value``, each body separately, since bodies that share a name
        are separate tests (``opa test`` renames them ``test_x#01``...). Not tests: functions and
        incremental ``test_x contains ...`` sets. A ``default test_x`` goes with every body of its name
        (it is what the body falls back to) and is a test only when the name has no other body."""
        bodies = {r.name for r in self.rules if r.kind == "complete"}
        return [
            rule
            for rule in self.rules
            if rule.name.startswith("test_")
            and (rule.kind == "complete" or (rule.kind == "default" and rule.name not in bodies))
        ]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def rule_ref(package: tuple[str, ...] | list[str], *names: str) -> str:
    """``data.a.b["c-d"].rule``: a ref that works for any package segment."""
    out = "data"
    for part in (*package, *names):
        out += f".{part}" if _IDENT.match(part) else f"[{json.dumps(part)}]"
    return out


def declares_v1(source: str) -> bool:
    return re.search(r"^\s*import\s+rego\.v1\b", source, re.MULTILINE) is not None


class RegoEngine(ABC):
    """Load policies and data, evaluate rules and queries. One instance holds one set of policies."""

    name: ClassVar[str]

    @abstractmethod
    def parse(self, path: str, source: str, version: str | None = None) -> RegoModule:
        """Parse one file on its own (no other policies needed). ``version=None``: detect it (see module
        doc). Raises ``RegoSyntaxError``."""

    @abstractmethod
    def add_policy(self, path: str, source: str, version: str) -> None:
        """Load a policy in the given Rego version. Raises ``RegoSyntaxError``."""

    @abstractmethod
    def add_data(self, data: Mapping[str, Any]) -> None:
        """Merge a JSON document into ``data``."""

    def eval_rule(self, rule: str, *, input: Any = NO_INPUT) -> Any:
        """The value of a rule (``data.pkg.rule``), JSON-shaped (sets become lists), or ``UNDEFINED``.
        Raises ``RegoEvalError``. A query (not regorus's eval_rule) tells `undefined` from `null` and
        tolerates unknown rules."""
        results = self.eval_query(rule, input=input)
        if not results or not results[0]["expressions"]:
            return UNDEFINED
        return results[0]["expressions"][0]

    @abstractmethod
    def eval_query(self, query: str, *, input: Any = NO_INPUT) -> list[dict[str, Any]]:
        """Every solution of a query: ``[{"expressions": [values], "bindings": {var: value}}]``."""

    @abstractmethod
    def copy(self) -> RegoEngine:
        """An independent engine with the same policies and data (to add per-case data)."""

    def take_prints(self) -> list[str]:
        """Output of ``print()`` calls during the last evaluation, if the engine gathers it."""
        return []

    def check(self) -> None:
        """Compile everything loaded (unsafe or undefined variables, bad imports...); raise the first
        problem as ``RegoSyntaxError``. One such error poisons every evaluation in the engine."""
        try:
            self.eval_query("true")
        except RegoEvalError as exc:
            raise RegoSyntaxError(exc.message, exc.path, exc.line, exc.col) from None


# regorus errors: "\n--> file.rego:3:5\n  |\n3 | ...\n  |   ^\nerror: message\n\nStack backtrace: ..."
_LOCATION = re.compile(r"-->\s*(?P<path>.*?):(?P<line>\d+):(?P<col>\d+)\s*$", re.MULTILINE)
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.+)$", re.MULTILINE)


_MISSING_BUILTIN = re.compile(r"could not find function (?P<name>[\w.]+)")


def _regorus_error(exc: Exception, cls: type[RegoError]) -> RegoError:
    text = str(exc).split("Stack backtrace:")[0]
    loc = _LOCATION.search(text)
    msg = _MESSAGE.search(text)
    message = msg["msg"].strip() if msg else next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    missing = _MISSING_BUILTIN.search(message)
    if missing:
        # A gap of the engine, not a fault of the policy: say so, or users chase a bug that is not theirs.
        builtin = missing["name"]
        message += (
            f" (Kitemark's Rego engine, regorus, does not provide the builtin {builtin}; OPA does: "
            "the policy cannot be assessed here until Kitemark evaluates it with OPA)"
        )
    if not loc:
        return cls(message or type(exc).__name__)
    path = None if loc["path"].startswith("<query") else loc["path"]
    return cls(message, path, int(loc["line"]), int(loc["col"]))


def _further(a: RegoError, b: RegoError) -> RegoError:
    """The error that got further into the file (ties go to ``a``)."""
    return b if ((b.line or 0), (b.col or 0)) > ((a.line or 0), (a.col or 0)) else a


def _ref_parts(node: dict[str, Any]) -> list[str] | None:
    """A package/rule ref from the regorus AST as its path segments, or None if it is not static."""
    kind, body = next(iter(node.items()))
    if kind == "Var":
        return [body["value"]]
    if kind == "RefDot":
        head = _ref_parts(body["refr"])
        return None if head is None else [*head, body["field"][1]]
    if kind == "RefBrack":
        head = _ref_parts(body["refr"])
        index = body.get("index") or {}
        if head is None or "String" not in index:
            return None
        return [*head, index["String"]["value"]]
    return None


def _rules_from_ast(ast: dict[str, Any], source: str) -> tuple[RegoRule, ...]:
    # regorus spans: 1-based line, and `start`/`end` as UTF-8 byte offsets into the source.
    data = source.encode()
    rules: list[RegoRule] = []
    for rule in ast.get("rules", []):
        kind, body = next(iter(rule.items()))
        if kind == "Default":
            ref, rkind = body["refr"], "default"
        else:
            head_kind, head = next(iter(body["head"].items()))
            ref = head["refr"]
            rkind = {"Func": "function", "Set": "set"}.get(head_kind, "complete")
        # Only plain names (`test_x`), not ref heads (`test_x.y`), are rules `opa test` would name.
        if "Var" in ref:
            span, name_span = body["span"], ref["Var"]["span"]
            rules.append(
                RegoRule(
                    ref["Var"]["value"],
                    rkind,
                    span["line"],
                    end_line=data.count(b"\n", 0, max(span["end"] - 1, span["start"])) + 1,
                    span=(span["start"], span["end"]),
                    name_span=(name_span["start"], name_span["end"]),
                )
            )
    return tuple(rules)


class LocalRegorusEngine(RegoEngine):
    """In-process Rego via regorus (``gordon-to-regorus``). Everything regorus-specific lives here.
    Unbounded: a hostile policy can hold this process for minutes and gigabytes, so Kitemark uses it
    only inside the evaluator child (``kitemark.engines.rego_child``), behind ``RegorusEngine``."""

    name = "regorus-local"

    def __init__(self, _engine: Any = None) -> None:
        self._engine = _engine if _engine is not None else self._new()
        self._prints: list[str] = []

    @staticmethod
    def _new() -> Any:
        engine = regorus.Engine()
        engine.set_gather_prints(True)
        return engine

    def _load(self, engine: Any, path: str, source: str, version: str) -> None:
        # The v0 switch applies at parse time, so one engine can hold v0 and v1 files side by side.
        engine.set_rego_v0(version == V0)
        try:
            engine.add_policy(path, source)
        except MemoryError:  # the evaluator's memory limit: the child reports it as such
            raise
        except Exception as exc:
            raise _regorus_error(exc, RegoSyntaxError) from None
        finally:
            engine.set_rego_v0(False)

    def parse(self, path: str, source: str, version: str | None = None) -> RegoModule:
        if version is None:
            version = V1 if declares_v1(source) else None
        if version is not None:
            engine = self._new()
            self._load(engine, path, source, version)
        else:
            try:
                engine, version = self._new(), V1
                self._load(engine, path, source, V1)
            except RegoSyntaxError as v1_error:
                try:
                    engine, version = self._new(), V0
                    self._load(engine, path, source, V0)
                except RegoSyntaxError as v0_error:
                    raise _further(v1_error, v0_error) from None
        ast = json.loads(engine.get_ast_as_json())[0]["ast"]
        package = _ref_parts(ast["package"]["refr"])
        if package is None:  # a dynamic-looking package ref: fall back to regorus's own rendering
            package = engine.get_packages()[0].removeprefix("data.").split(".")
        return RegoModule(
            path=path, package=tuple(package), version=version, rules=_rules_from_ast(ast, source)
        )

    def add_policy(self, path: str, source: str, version: str) -> None:
        self._load(self._engine, path, source, version)

    def add_data(self, data: Mapping[str, Any]) -> None:
        try:
            self._engine.add_data_json(json.dumps(data))
        except MemoryError:  # the evaluator's memory limit: the child reports it as such
            raise
        except Exception as exc:
            raise _regorus_error(exc, RegoEvalError) from None

    def eval_query(self, query: str, *, input: Any = NO_INPUT) -> list[dict[str, Any]]:
        # Evaluate on a clone (microseconds) so the input of one evaluation never leaks into the next.
        engine = self._engine.clone()
        if input is not NO_INPUT:
            engine.set_input_json(json.dumps(input))
        try:
            out = json.loads(engine.eval_query_as_json(query))
        except MemoryError:  # the evaluator's memory limit: the child reports it as such
            raise
        except Exception as exc:
            raise _regorus_error(exc, RegoEvalError) from None
        finally:
            self._prints = list(engine.take_prints())
        return [
            {
                "expressions": [e.get("value") for e in r.get("expressions", [])],
                "bindings": r.get("bindings", {}),
            }
            for r in out.get("result", [])
        ]

    def copy(self) -> LocalRegorusEngine:
        return LocalRegorusEngine(self._engine.clone())

    def take_prints(self) -> list[str]:
        prints, self._prints = self._prints, []
        return prints


# One engine operation, as the evaluator child applies it: ("policy", path, source, version) or
# ("data", document).
_Op = tuple[Any, ...]


class RegorusEngine(RegoEngine):
    """regorus, bounded: every parse and evaluation runs in the evaluator child process
    (``kitemark.engines.rego_process``) with a wall-clock limit per call (``timeout`` seconds), an
    address-space limit (``memory`` MiB) and a total for the run in this process (``budget`` seconds, 0
    for none); a call over any of them, or made once the budget is spent, raises ``RegoLimitError``.

    This object only records what was loaded: the policies and data added before the first ``copy`` are
    its *base* (kept built in the child under their digest, so a request names them instead of sending
    them), and what is added to a copy is an *overlay* sent with each evaluation (a Gatekeeper case's
    inventory). Adding a policy is checked when the engine is first evaluated (``check()``)."""

    name = "regorus"

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        memory: int = DEFAULT_MEMORY_MIB,
        budget: float = DEFAULT_BUDGET,
        _base: tuple[_Op, ...] = (),
        _sealed: bool = False,
        _key: str | None = None,
    ) -> None:
        self.timeout = float(timeout)
        self.memory = int(memory)
        self.budget = float(budget)
        self._base = _base
        self._overlay: list[_Op] = []
        self._sealed = _sealed  # a copy: what is added goes to the overlay
        self._key = _key
        self._prints: list[str] = []

    def _call(self, request: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            reply = evaluator(self.memory).call(request, self.timeout, what, self.budget)
        except EvaluatorStopped as exc:
            raise RegoLimitError(str(exc)) from None
        error = reply.get("error")
        if error:
            cls = RegoSyntaxError if error["syntax"] else RegoEvalError
            raise cls(error["message"], error["path"], error["line"], error["col"])
        return reply

    def parse(self, path: str, source: str, version: str | None = None) -> RegoModule:
        request = {"op": "parse", "path": path, "source": source, "version": version}
        try:
            found = self._call(request, f"parsing {path}")["module"]
        except RegoLimitError as exc:
            raise exc.at(path) from None
        rules = tuple(
            RegoRule(**{**r, "span": tuple(r["span"]), "name_span": tuple(r["name_span"])})
            for r in found["rules"]
        )
        return RegoModule(found["path"], tuple(found["package"]), found["version"], rules)

    def _add(self, op: _Op) -> None:
        if self._sealed:
            self._overlay.append(op)
        else:
            self._base = (*self._base, op)
            self._key = None

    def add_policy(self, path: str, source: str, version: str) -> None:
        self._add(("policy", path, source, version))

    def add_data(self, data: Mapping[str, Any]) -> None:
        self._add(("data", data))

    def _base_key(self) -> str:
        if self._key is None:
            self._key = hashlib.sha256(json.dumps(self._base).encode()).hexdigest()
        return self._key

    def eval_query(self, query: str, *, input: Any = NO_INPUT) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"op": "eval", "key": self._base_key(), "query": query}
        request["overlay"] = self._overlay
        if input is not NO_INPUT:
            request["input"] = input
        what = f"evaluating {query}"
        reply = self._call(request, what)
        if reply.get("miss"):  # the child has not built these policies yet (or was restarted)
            reply = self._call({**request, "base": self._base}, what)
        self._prints = reply["prints"]
        results: list[dict[str, Any]] = reply["results"]
        return results

    def copy(self) -> RegorusEngine:
        key = None if self._overlay else self._base_key()
        base = (*self._base, *self._overlay)
        return RegorusEngine(self.timeout, self.memory, self.budget, base, _sealed=True, _key=key)

    def take_prints(self) -> list[str]:
        prints, self._prints = self._prints, []
        return prints


ENGINES: dict[str, type[RegoEngine]] = {RegorusEngine.name: RegorusEngine}


def create_engine(name: str = "regorus", **settings: Any) -> RegoEngine:
    """A new, empty engine of the named kind (``settings`` are engine-specific, e.g. a server URL)."""
    try:
        cls = ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown Rego engine {name!r}; known: {', '.join(ENGINES)}") from None
    return cls(**settings)

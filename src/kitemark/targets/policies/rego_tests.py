"""Running one Rego unit test: ``RegoTestCase`` is a ``test_*`` rule with every module of its target,
evaluated as ``opa test`` would (the rule passes when it is defined and ``true``, fails when it is
``false``, undefined or any other value, and is an error when evaluation fails), and
``RegoTestOutcome`` is what that run gives. It is the unit data of the ``policies.rego-test`` scope;
collection builds it (see ``kitemark.targets.policies.collect``).

Tests that share a name: Rego ORs the bodies of same-named rules, so evaluating ``test_x`` would pass
when any one body passes and hide the others' failures. ``opa test`` renames them (``test_x``,
``test_x#01``, ...) and reports each; Kitemark does the same by evaluating each body on its own, in a
copy of the modules where every *other* body of that name in the package is renamed (``isolate``:
the rule name's byte span from regorus's parse tree is replaced by a private identifier on the same
line, so line numbers in errors do not move). Rule ids are numbered per file, in source order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kitemark.engines.rego import UNDEFINED, RegoEngine, RegoError, RegoLimitError, create_engine, rule_ref
from kitemark.engines.rego_cache import cached_engine


@dataclass
class RegoTestOutcome:
    status: str  # "passed" | "failed" | "error"
    result: str  # "true", "false", "undefined", or the JSON of another value
    message: str
    prints: list[str] = field(default_factory=list)
    error: RegoError | None = None


@dataclass
class RegoTestCase:
    """One ``test_*`` rule, with every module of its target (loaded together, as ``opa test`` does)."""

    target: str
    path: str
    package: tuple[str, ...]
    rule: str  # the rule evaluated (``test_x``)
    line: int
    version: str
    modules: list[tuple[str, str, str]]  # with other bodies named ``rule`` renamed away (see ``isolate``)
    engine_cfg: dict[str, Any]
    bundle_key: str
    name: str = ""  # the test's name as reported: ``test_x``, or ``test_x#01``... for later bodies
    end_line: int = 0
    source: str = ""  # the test's text from its file (bounded), for the evidence
    isolation_error: str | None = None  # the body could not be separated from its namesakes
    data: dict[str, Any] = field(default_factory=dict)  # data.json/data.yaml documents, merged (rego_data)

    def __post_init__(self) -> None:
        self.name = self.name or self.rule
        self.end_line = self.end_line or self.line

    @property
    def resource(self) -> str:
        return f"{self.path}#{self.name}"

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def ref(self) -> str:
        return rule_ref(self.package, self.rule)

    def _engine(self) -> RegoEngine:
        def build() -> RegoEngine:
            engine = create_engine(**self.engine_cfg)
            for path, source, version in self.modules:
                engine.add_policy(path, source, version)
            if self.data:
                engine.add_data(self.data)
            return engine

        return cached_engine(self.bundle_key, build)

    def run(self) -> RegoTestOutcome:
        if self.isolation_error:
            return RegoTestOutcome(
                "error", "error", self.isolation_error, error=RegoError(self.isolation_error)
            )
        try:
            engine = self._engine()
            value = engine.eval_rule(self.ref)
        except RegoLimitError as exc:
            exc = exc.at(self.path, self.line)  # name the test's file, whatever ran over the limit
            return RegoTestOutcome("error", "error", f"evaluation stopped: {exc}", error=exc)
        except RegoError as exc:
            return RegoTestOutcome("error", "error", f"evaluation error: {exc}", error=exc)
        prints = engine.take_prints()
        if value is True:
            return RegoTestOutcome("passed", "true", f"{self.name} is true", prints)
        if value is UNDEFINED or value is False:
            result = "undefined" if value is UNDEFINED else "false"
            return RegoTestOutcome("failed", result, f"{self.name} is {result}", prints)
        # Only exactly `true` passes, as with `opa test`: 1, "yes", a set... are failures.
        result = json.dumps(value, sort_keys=True)[:200]
        return RegoTestOutcome("failed", result, f"{self.name} is {result}, not true", prints)


SOURCE_LINES = 30


def rule_source(source: str, line: int, end_line: int, limit: int = SOURCE_LINES) -> str:
    """Lines ``line``..``end_line`` of a file, at most ``limit`` of them (then a note of how many more)."""
    lines = source.splitlines()[line - 1 : end_line]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


def isolate(
    modules: list[tuple[str, str, str]], others: dict[str, list[tuple[int, int]]], name: str
) -> list[tuple[str, str, str]]:
    """``modules`` with the rules named ``name`` at the given byte spans (per path) renamed to private
    identifiers, so that evaluating ``name`` sees one body only. Raises ``ValueError`` when a span does
    not hold ``name`` (the parse tree and the source disagree): better an error than a merged test."""
    out, n = [], 0
    for path, source, version in modules:
        spans = sorted(others.get(path, []), reverse=True)
        if spans:
            data = source.encode()
            for start, end in spans:
                n += 1  # unique across files: namesakes in one package must not merge or conflict
                if data[start:end] != name.encode():
                    raise ValueError(f"cannot isolate {name} in {path}: no rule name at byte {start}")
                data = data[:start] + f"__kitemark_namesake_{n}_{name}".encode() + data[end:]
            source = data.decode()
        out.append((path, source, version))
    return out

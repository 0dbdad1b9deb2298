"""Running one Rego unit test: ``RegoTestCase`` is a ``test_*`` rule with every module of its target,
evaluated as ``opa test`` would (the rule passes when it is defined and ``true``, fails when it is
``false``, undefined or any other value, and is an error when evaluation fails), and
``RegoTestOutcome`` is what that run gives. It is the unit data of the ``policies.rego-test`` scope;
collection builds it (see ``kitemark.targets.policies``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kitemark.rego import UNDEFINED, RegoEngine, RegoError, create_engine, rule_ref
from kitemark.rego_cache import cached_engine


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
    rule: str
    line: int
    version: str
    modules: list[tuple[str, str, str]]
    engine_cfg: dict[str, Any]
    bundle_key: str

    @property
    def resource(self) -> str:
        return f"{self.path}#{self.rule}"

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
            return engine

        return cached_engine(self.bundle_key, build)

    def run(self) -> RegoTestOutcome:
        try:
            engine = self._engine()
            value = engine.eval_rule(self.ref)
        except RegoError as exc:
            return RegoTestOutcome("error", "error", f"evaluation error: {exc}", error=exc)
        prints = engine.take_prints()
        if value is True:
            return RegoTestOutcome("passed", "true", f"{self.rule} is true", prints)
        if value is UNDEFINED or value is False:
            result = "undefined" if value is UNDEFINED else "false"
            return RegoTestOutcome("failed", result, f"{self.rule} is {result}", prints)
        result = json.dumps(value, sort_keys=True)[:200]
        return RegoTestOutcome("failed", result, f"{self.rule} is {result}, not true", prints)

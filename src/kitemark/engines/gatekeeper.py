"""Gatekeeper semantics, independent of how suites are collected: ``GatekeeperCase`` reviews one
object of a ``gator verify`` suite case against a ConstraintTemplate and constraint as Gatekeeper
does, building ``input.review`` from the object or AdmissionReview, checking the constraint's
parameters against the template's OpenAPI schema, syncing ``data.inventory`` (``inventory_tree``),
deciding ``spec.match`` (``matches``, with Gatekeeper's name globs, and label selectors read by
``kitemark.core.labels`` as everywhere in Kitemark) and comparing the template's ``violation`` results
with the case's assertions (``Assertion``, ``parse_assertion``; message regexes are Go RE2, see
``kitemark.engines.re2``).
It is the unit data of the ``policies.gatekeeper-case`` scope (see ``kitemark.targets.policies.collect``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from kitemark.core.labels import matches as selector_matches
from kitemark.engines.re2 import re2_syntax_error
from kitemark.engines.rego import RegoEngine, RegoError, RegoLimitError, create_engine, rule_ref
from kitemark.engines.rego_cache import bundle_key, cached_engine


@dataclass
class CaseOutcome:
    passed: bool
    matched: bool
    violations: list[dict[str, Any]]
    failures: list[str]
    error: str | None = None
    rejection: str | None = None  # ``invalid: true`` tests: why the constraint was rejected, if it was


@dataclass
class GatekeeperCase:
    """One case of a ``gator verify`` suite: an object reviewed against one template and constraint."""

    target: str
    suite: str
    test: str
    case: str
    line: int | None
    skip: bool
    template: dict[str, Any]
    constraint_path: str
    constraint_docs: list[Any]
    object_path: str
    object_docs: list[Any]
    inventory_docs: list[Any]
    assertions: list[Any]
    engine_cfg: dict[str, Any]
    # An ``invalid: true`` test: no cases; it holds when the constraint fails schema validation.
    invalid: bool = False
    # Decided at collection on the objects as written, when redaction changed them (gatekeeper_raw).
    outcome: dict[str, Any] | None = None

    @property
    def resource(self) -> str:
        return f"{self.suite}#{self.test}" if self.invalid else f"{self.suite}#{self.test}/{self.case}"

    @property
    def location(self) -> str:
        return f"{self.suite}:{self.line}" if self.line else self.suite

    def _engine(self) -> RegoEngine:
        tpl = self.template
        key = bundle_key(self.engine_cfg, [(tpl["path"], tpl["rego"], tpl["version"])])
        key = bundle_key(
            {"template": key}, [(str(n), lib, tpl["version"]) for n, lib in enumerate(tpl["libs"])]
        )

        def build() -> RegoEngine:
            engine = create_engine(**self.engine_cfg)
            engine.add_policy(f"{tpl['path']}#rego", tpl["rego"], tpl["version"])
            for n, lib in enumerate(tpl["libs"]):
                engine.add_policy(f"{tpl['path']}#libs[{n}]", lib, tpl["version"])
            return engine

        return cached_engine(key, build)

    def run(self) -> CaseOutcome:
        if self.outcome is not None:
            o = self.outcome
            return CaseOutcome(
                o["passed"], o["matched"], o["violations"], o["failures"], o["error"], o["rejection"]
            )
        if self.invalid:
            return self._run_invalid()
        matched, violations = False, []
        try:
            assertions = [parse_assertion(a) for a in self.assertions]
            if not assertions:
                raise CaseError("the case has no assertions (gator requires at least one)")
            constraint = self._constraint()
            obj, review, namespace = self._review()
            matched = matches(constraint.get("spec", {}).get("match") or {}, obj, namespace)
            violations = self._violations(constraint, review) if matched else []
            # Inside the try: an invalid message regex is an error of the case, as in gator.
            failures = [f for a in assertions if (f := a.check(violations))]
        except (CaseError, RegoError) as exc:
            return CaseOutcome(False, matched, violations, [], error=str(exc))
        return CaseOutcome(not failures, matched, violations, failures)

    def _run_invalid(self) -> CaseOutcome:
        """gator's ``invalid: true``: the test holds only when adding the constraint fails *schema
        validation* (``constraints.ErrSchema``); any other outcome, including a constraint rejected for
        another reason (a kind the template does not define), fails the test."""
        try:
            self._constraint()
        except ConstraintRejected as exc:
            if exc.schema:
                return CaseOutcome(True, False, [], [], rejection=str(exc))
            return CaseOutcome(
                False,
                False,
                [],
                [
                    f"the constraint was rejected, but not by schema validation ({exc}); gator expects "
                    "an invalid: true constraint to fail schema validation"
                ],
                rejection=str(exc),
            )
        except CaseError as exc:
            return CaseOutcome(False, False, [], [], error=str(exc))
        return CaseOutcome(
            False,
            False,
            [],
            [
                "the constraint was accepted (its kind is the template's and its parameters fit the "
                "template's openAPIV3Schema), but the test expects it to be rejected (invalid: true)"
            ],
        )

    def _constraint(self) -> dict[str, Any]:
        if len(self.constraint_docs) != 1:
            raise CaseError(f"{self.constraint_path} must hold exactly one constraint")
        constraint = self.constraint_docs[0]
        if self.template.get("kind") and constraint.get("kind") != self.template["kind"]:
            raise ConstraintRejected(
                f"constraint kind {constraint.get('kind')!r} is not the template's "
                f"kind {self.template['kind']!r}"
            )
        schema = self.template.get("schema")
        parameters = (constraint.get("spec") or {}).get("parameters")
        if schema and parameters is not None:
            # gator rejects a constraint whose parameters do not fit the template's schema.
            try:
                jsonschema.Draft4Validator(_openapi_to_jsonschema(schema)).validate(parameters)
            except jsonschema.ValidationError as exc:
                path = ".".join(str(p) for p in exc.absolute_path) or "parameters"
                raise ConstraintRejected(
                    f"constraint parameters do not fit the template schema at {path}: {exc.message}",
                    schema=True,
                ) from None
            except jsonschema.SchemaError:
                pass  # a schema jsonschema cannot read is Gatekeeper's business, not the case's
        return constraint

    def _review(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """The object to match, the ``input.review`` Gatekeeper builds, and the object's Namespace."""
        if len(self.object_docs) != 1:
            raise CaseError(f"{self.object_path} must hold exactly one object, found {len(self.object_docs)}")
        doc = self.object_docs[0]
        if doc.get("kind") == "AdmissionReview" and _group(doc.get("apiVersion", "")) == "admission.k8s.io":
            review = dict(doc.get("request") or {})
            if not review:
                raise CaseError(f"{self.object_path}: AdmissionReview has no request")
            if review.get("object") is None and review.get("oldObject") is None:
                raise CaseError(f"{self.object_path}: AdmissionReview request has no object or oldObject")
            if review.get("operation") == "DELETE" and review.get("object") is None:
                review["object"] = review["oldObject"]  # as Gatekeeper does for DELETE requests
            obj = review.get("object") or review["oldObject"]
            namespace_name = review.get("namespace") or (obj.get("metadata") or {}).get("namespace")
        else:
            obj = doc
            meta = obj.get("metadata") or {}
            api_version = str(obj.get("apiVersion", ""))
            # gator sets only kind, object, name and namespace of the AdmissionRequest; the rest keep
            # their Go zero values, which is what Rego sees once the request is encoded as JSON (uid,
            # operation and userInfo have no omitempty; name, namespace and dryRun do). So a plain
            # object has no operation to test: `input.review.operation == "CREATE"` does not hold.
            review = {
                "uid": "",
                "kind": {
                    "group": _group(api_version),
                    "version": api_version.rpartition("/")[2],
                    "kind": obj.get("kind", ""),
                },
                "resource": {"group": "", "version": "", "resource": ""},
                "operation": "",
                "userInfo": {},
                "object": obj,
                "oldObject": None,
                "options": None,
            }
            if meta.get("name"):
                review["name"] = meta["name"]
            if meta.get("namespace"):
                review["namespace"] = meta["namespace"]
            namespace_name = meta.get("namespace")
        namespace = next(
            (
                d
                for d in self.inventory_docs
                if d.get("kind") == "Namespace" and (d.get("metadata") or {}).get("name") == namespace_name
            ),
            None,
        )
        return obj, review, namespace

    def _violations(self, constraint: dict[str, Any], review: dict[str, Any]) -> list[dict[str, Any]]:
        package = self.template.get("package")
        if not package:
            raise CaseError("template has no parseable Rego package")
        engine = self._engine().copy()
        engine.add_data({"inventory": inventory_tree(self.inventory_docs)})
        parameters = (constraint.get("spec") or {}).get("parameters")
        try:
            value = engine.eval_rule(
                rule_ref(package, "violation"),
                input={"review": review, "parameters": parameters if parameters is not None else {}},
            )
        except RegoLimitError as exc:  # name the template that ran over the limit
            raise exc.at(self.template["path"], self.template.get("rego_line")) from None
        if not isinstance(value, list):
            value = []  # undefined: a template without a violation rule never violates
        return [v if isinstance(v, dict) else {"msg": str(v)} for v in value]


class CaseError(Exception):
    """The case cannot be evaluated as written (gator would report it as an error)."""


class ConstraintRejected(CaseError):
    """Gatekeeper refuses the constraint: ``schema`` when it fails the template's schema validation
    (what an ``invalid: true`` test expects), otherwise for another reason (e.g. the wrong kind)."""

    def __init__(self, message: str, schema: bool = False) -> None:
        super().__init__(message)
        self.schema = schema


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _openapi_to_jsonschema(schema: Any) -> Any:
    """OpenAPI v3 ``nullable``/``x-kubernetes-*`` need no translation for jsonschema; drop ``x-`` keys."""
    if isinstance(schema, dict):
        return {k: _openapi_to_jsonschema(v) for k, v in schema.items() if not str(k).startswith("x-")}
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(v) for v in schema]
    return schema


def inventory_tree(docs: list[Any]) -> dict[str, Any]:
    """``data.inventory`` as Gatekeeper syncs it: ``namespace[ns][groupVersion][kind][name]`` and
    ``cluster[groupVersion][kind][name]``."""
    tree: dict[str, Any] = {"cluster": {}, "namespace": {}}
    queue = list(docs)
    while queue:
        obj = queue.pop(0)
        if not isinstance(obj, dict):
            continue
        if obj.get("kind") == "List":
            queue.extend(obj.get("items") or [])
            continue
        meta = obj.get("metadata") or {}
        gv, kind, name = str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(meta.get("name", ""))
        ns = meta.get("namespace")
        scope = tree["namespace"].setdefault(ns, {}) if ns else tree["cluster"]
        scope.setdefault(gv, {}).setdefault(kind, {})[name] = obj
    return tree


# ---- assertions


@dataclass(frozen=True)
class Assertion:
    violations: str | int  # "yes" | "no" | exact count
    message: str | None

    def describe(self) -> str:
        text = f"violations: {self.violations}"
        return text + (f", message: {self.message!r}" if self.message is not None else "")

    def matching(self, violations: list[dict[str, Any]]) -> int:
        if self.message is None:
            return len(violations)
        if not violations:
            # gator compiles the message regex only when it has a violation to match it against, so an
            # invalid regex with no violations is not an error there either.
            return 0
        pattern = compile_message_regex(self.message)
        return sum(bool(pattern.search(str(v.get("msg", "")))) for v in violations)

    def check(self, violations: list[dict[str, Any]]) -> str | None:
        """None when the assertion holds, else why not."""
        n = self.matching(violations)
        about = f" matching {self.message!r}" if self.message is not None else ""
        if self.violations == "yes" and n == 0:
            return f"expected at least 1 violation{about}, got 0"
        if self.violations == "no" and n > 0:
            return f"expected no violations{about}, got {n}"
        if isinstance(self.violations, int) and n != self.violations:
            return f"expected exactly {self.violations} violation(s){about}, got {n}"
        return None


def parse_assertion(raw: Any) -> Assertion:
    if not isinstance(raw, dict):
        raise CaseError(f"assertion {raw!r} is not a mapping")
    value = raw.get("violations", "yes")
    # Unquoted yes/no are YAML 1.1 booleans; gator reads them as the strings they were written as.
    if value is True or value is False:
        value = "yes" if value else "no"
    valid_count = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if value not in ("yes", "no") and not valid_count:
        raise CaseError(f'assertion violations must be a non-negative integer, "yes" or "no", not {value!r}')
    message = raw.get("message")
    return Assertion(value, None if message is None else str(message))


def compile_message_regex(message: str) -> re.Pattern[str]:
    """An assertion's ``message`` as gator reads it: a Go RE2 regular expression, searched for in each
    violation's ``msg``. A pattern RE2 would refuse, or that Python cannot read, is a ``CaseError``;
    never a substring match."""
    reason = re2_syntax_error(message)
    if reason is None:
        try:
            return re.compile(message)
        except re.error as exc:
            reason = str(exc)
    raise CaseError(f"invalid message regex {message!r}: {reason} (gator uses Go RE2 syntax)")


# ---- spec.match


def _wildcard(pattern: str, value: str) -> bool:
    """Gatekeeper's ``wildcard.Matches``: ``*sys*`` (contains), ``kube-*`` (prefix), ``*-system``
    (suffix), else exact. ``*`` alone matches everything."""
    if pattern.startswith("*") and pattern.endswith("*"):
        return pattern[1:-1] in value  # one star trimmed from each end, as Go's TrimPrefix/TrimSuffix
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def matches(match: dict[str, Any], obj: dict[str, Any], namespace: dict[str, Any] | None = None) -> bool:
    """Gatekeeper's ``spec.match``: kinds, scope, namespaces, excludedNamespaces, labelSelector,
    namespaceSelector and name, all of which must hold (checked in that order, so a selector that
    cannot be read is an error only when the rest matched). ``namespace`` is the object's Namespace
    (needed only by ``namespaceSelector`` for namespaced objects)."""
    meta = obj.get("metadata") or {}
    group, kind = _group(str(obj.get("apiVersion", ""))), obj.get("kind", "")
    is_namespace = kind == "Namespace" and group == ""
    obj_ns = meta.get("namespace") or ""
    # For a Namespace the namespace is its own name; a cluster-scoped object is in none.
    ns_name = meta.get("name", "") if is_namespace else obj_ns
    return (
        _kinds_match(match.get("kinds") or [], group, kind)
        and _scope_matches(match.get("scope"), is_namespace or not obj_ns)
        and (not (ns_name or is_namespace) or _namespaces_match(match, ns_name))
        and (match.get("labelSelector") is None or _selects(match["labelSelector"], meta.get("labels")))
        and _namespace_selector_matches(match.get("namespaceSelector"), meta, namespace, is_namespace)
        and not (match.get("name") and not _wildcard(str(match["name"]), meta.get("name", "")))
    )


def _kinds_match(kinds: list[Any], group: str, kind: str) -> bool:
    return not kinds or any(
        (not k.get("kinds") or "*" in k["kinds"] or kind in k["kinds"])
        and (not k.get("apiGroups") or "*" in k["apiGroups"] or group in k["apiGroups"])
        for k in kinds
    )


def _scope_matches(scope: Any, cluster_scoped: bool) -> bool:
    if scope == "Cluster":
        return cluster_scoped
    if scope == "Namespaced":
        return not cluster_scoped
    return True


def _namespaces_match(match: dict[str, Any], ns_name: str) -> bool:
    """``namespaces`` (any glob) and ``excludedNamespaces`` (none), for an object in a namespace."""
    if match.get("namespaces") and not any(_wildcard(str(p), ns_name) for p in match["namespaces"]):
        return False
    return not any(_wildcard(str(p), ns_name) for p in match.get("excludedNamespaces") or [])


def _namespace_selector_matches(
    selector: Any, meta: dict[str, Any], namespace: dict[str, Any] | None, is_namespace: bool
) -> bool:
    """A Namespace is selected by its own labels, a namespaced object by its Namespace's (which the
    case must supply), and a cluster-scoped object always."""
    obj_ns = meta.get("namespace")
    if selector is None or not (is_namespace or obj_ns):
        return True
    if is_namespace:
        labels = meta.get("labels")
    elif namespace is not None:
        labels = (namespace.get("metadata") or {}).get("labels")
    else:
        raise CaseError(f"namespaceSelector needs Namespace {obj_ns!r}: add it to the case's inventory")
    return _selects(selector, labels)


def _selects(selector: Any, labels: Any) -> bool:
    """A label selector read as everywhere else in Kitemark (``kitemark.core.labels``); one that cannot
    be read (not a mapping, an unknown operator) is an error of the case."""
    if not isinstance(selector, Mapping):
        raise CaseError(f"a label selector must be a mapping, not {type(selector).__name__}")
    try:
        return selector_matches(selector, labels if isinstance(labels, Mapping) else None)
    except ValueError as exc:
        raise CaseError(str(exc)) from None

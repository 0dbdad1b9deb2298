"""Gatekeeper ``gator verify`` suite collection for a policies target: ``find_suites`` finds every
``kind: Suite`` (``SUITE_API_VERSION``) YAML file; ``collect_suites`` reads its tests and cases (with
their lines) and what a case that runs needs: each ConstraintTemplate (its schema and embedded Rego,
parsed and compiled, errors reported at their line in the template file) and each constraint, object
and inventory file. Skipped suites, tests and cases are not followed, as with gator. A suite gator
could not read (``tests`` not a list, a test or case not a mapping, ``cases`` or ``inventory`` not a
list) is an error of the whole suite, as it is in gator. YAML loading and line numbers come from
``kitemark.targets.policies.gatekeeper_yaml``.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kitemark.core import input_limits
from kitemark.core.kinds import InputError
from kitemark.core.mappings import dig
from kitemark.core.resources import InputTree, Refused, RefusedPath
from kitemark.engines.rego import V0, V1, RegoEngine, RegoError, RegoLimitError, create_engine
from kitemark.targets.policies.files import read_file
from kitemark.targets.policies.gatekeeper_raw import RAW
from kitemark.targets.policies.gatekeeper_yaml import (
    embedded_at,
    line_of,
    load_documents,
    without_secret_values,
    yaml_error,
    yaml_tree,
)

SUITE_API_VERSION = "test.gatekeeper.sh/v1alpha1"
YAML = (".yaml", ".yml")

Entries = dict[str, Any]


def find_suites(tree: InputTree, refused: list[Refused]) -> list[tuple[str, str | InputError]]:
    """``(relative path, text)`` of every YAML file of ``tree`` that names the suite API; whether it
    holds a suite is decided on its parsed documents (a `kind: Suite  # comment` line is one). A file
    that cannot be read, or read as UTF-8 text, and each of ``refused`` (what the walk did not read),
    comes with its input error instead: it may be a suite, so it is an error unit of the suites."""
    found: list[tuple[str, str | InputError]] = []
    marker = SUITE_API_VERSION.encode()
    for path in tree.files(YAML):
        rel = tree.rel(path)
        try:
            data = input_limits.read_bytes(path)
        except input_limits.LimitExceeded as exc:
            found.append((rel, InputError(rel, str(exc))))
            continue
        except OSError as exc:
            found.append((rel, InputError(rel, f"cannot read: {exc.strerror or exc}")))
            continue
        if marker not in data:
            continue
        try:
            found.append((rel, data.decode("utf-8")))
        except UnicodeDecodeError:
            unreadable = f"names {SUITE_API_VERSION} but cannot be read as UTF-8 text"
            found.append((rel, InputError(rel, unreadable)))
    found += [(r.path, InputError(r.path, r.reason)) for r in refused]
    return sorted(found, key=lambda item: item[0])


def collect_suites(
    engine: RegoEngine,
    engine_cfg: dict[str, Any],
    root: Path,
    found: list[tuple[str, str | InputError]],
    errors: list[InputError],
) -> tuple[list[dict[str, Any]], Entries, Entries]:
    """The suites among ``found`` (see ``find_suites``), and the templates and objects they need."""
    suites: list[dict[str, Any]] = []
    templates: Entries = {}
    objects: Entries = {}
    for rel, text in found:
        if isinstance(text, InputError):  # one error unit, as a suite gator cannot read
            errors.append(text)
            suites.append({"path": rel, "name": None, "skip": False, "tests": [], "error": text.to_dict()})
            continue
        suite = _collect_suite(rel, text, errors)
        if suite is None:
            continue
        suites.append(suite)
        # Like gator, read only what a case that runs needs: a skipped suite, test or case names files
        # that nothing reviews, so they cannot make the run an error.
        for test in [] if suite["skip"] else suite["tests"]:
            if not test["skip"]:
                _collect_needed(engine, engine_cfg, root, suite["path"], test, templates, objects, errors)
    return suites, templates, objects


def _collect_needed(
    engine: RegoEngine,
    engine_cfg: dict[str, Any],
    root: Path,
    suite: str,
    test: dict[str, Any],
    templates: Entries,
    objects: Entries,
    errors: list[InputError],
) -> None:
    """The template, constraint, objects and inventories one test's running cases need (once each)."""
    if test["template_path"] and test["template_path"] not in templates:
        ref = Reference(suite, "template", test["template"], test["line"])
        templates[test["template_path"]] = _collect_template(
            engine, engine_cfg, root, test["template_path"], ref, errors
        )
    refs = [(test["constraint_path"], Reference(suite, "constraint", test["constraint"], test["line"]))]
    for case in test["cases"]:
        if not case["skip"]:
            refs.append((case["object_path"], Reference(suite, "object", case["object"], case["line"])))
            refs += [
                (path, Reference(suite, "inventory", name, case["line"]))
                for path, name in zip(case["inventory_paths"], case["inventory"], strict=True)
            ]
    for path, ref in refs:
        if path and path not in objects:
            objects[path] = _collect_objects(root, path, ref, errors)


@dataclass(frozen=True)
class Reference:
    """Where a suite names a file (its ``template``, ``constraint``, ``object`` or ``inventory``), so a
    reference that is refused is reported in the suite, at the test or case that makes it."""

    suite: str
    field: str
    value: Any
    line: int | None

    def refused(self, why: str) -> InputError:
        return InputError(self.suite, f"{self.field} {self.value!r} {why}: not read", self.line)


def _collect_suite(rel: str, text: str, errors: list[InputError]) -> dict[str, Any] | None:
    entry: dict[str, Any] = {"path": rel, "name": None, "skip": False, "tests": [], "error": None}
    tree = None
    try:
        docs = load_documents(text)
        tree = yaml_tree(text)
        suite = next((d for d in docs if _is_suite(d)), None)
        if suite is None:
            return None
        entry["name"] = dig(suite, "metadata", "name")
        entry["skip"] = bool(suite.get("skip"))
        tests = suite.get("tests") or []
        shape = _shape_error(rel, tree, tests)
    except yaml.YAMLError as exc:
        shape = yaml_error(rel, exc)
    if shape is not None:
        errors.append(shape)
        entry["error"] = shape.to_dict()
        return entry
    base = posixpath.dirname(rel)
    entry["tests"] = [_test_entry(base, tree, i, test) for i, test in enumerate(tests)]
    return entry


def _is_suite(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "Suite" and doc.get("apiVersion") == SUITE_API_VERSION


def _shape_error(rel: str, tree: yaml.Node | None, tests: Any) -> InputError | None:
    """Where a suite is not shaped as gator reads it (gator cannot decode it, so it reads none of it)."""
    if not isinstance(tests, list):
        return InputError(rel, "suite 'tests' must be a list", line_of(tree, "tests"))
    for i, test in enumerate(tests):
        if not isinstance(test, dict):
            return InputError(rel, f"suite test {i + 1} must be a mapping", line_of(tree, "tests", i))
        cases = test.get("cases") or []
        if not isinstance(cases, list):
            where = line_of(tree, "tests", i, "cases")
            return InputError(rel, f"test {test.get('name')!r}: 'cases' must be a list", where)
        for j, case in enumerate(cases):
            where = line_of(tree, "tests", i, "cases", j)
            if not isinstance(case, dict):
                return InputError(rel, f"test {test.get('name')!r}: case {j + 1} must be a mapping", where)
            if not isinstance(case.get("inventory") or [], list):
                return InputError(rel, f"case {case.get('name')!r}: 'inventory' must be a list", where)
    return None


def _test_entry(base: str, tree: yaml.Node | None, i: int, test: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(test.get("name") or f"test-{i + 1}"),
        "template": test.get("template"),
        "constraint": test.get("constraint"),
        "template_path": _join(base, test.get("template")),
        "constraint_path": _join(base, test.get("constraint")),
        "skip": bool(test.get("skip")),
        "invalid": bool(test.get("invalid")),
        "line": line_of(tree, "tests", i),
        "cases": [_case_entry(base, tree, i, j, case) for j, case in enumerate(test.get("cases") or [])],
    }


def _case_entry(base: str, tree: yaml.Node | None, i: int, j: int, case: dict[str, Any]) -> dict[str, Any]:
    inventory = [str(p) for p in case.get("inventory") or []]
    return {
        "name": str(case.get("name") or f"case-{j + 1}"),
        "object": case.get("object"),
        "object_path": _join(base, case.get("object")),
        "assertions": case.get("assertions") or [],
        "inventory": inventory,
        "inventory_paths": [_join(base, p) for p in inventory],
        "skip": bool(case.get("skip")),
        "line": line_of(tree, "tests", i, "cases", j),
    }


def _join(base: str, ref: Any) -> str | None:
    """A suite-relative reference as a normalised path relative to the target location."""
    if not ref or not isinstance(ref, str):
        return None
    return posixpath.normpath(posixpath.join(base, ref))


def _collect_objects(root: Path, rel: str, ref: Reference, errors: list[InputError]) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": rel, "documents": [], "error": None}
    try:
        docs = load_documents(read_file(root, rel))
    except RefusedPath as refused:
        err = ref.refused(str(refused))
    except (OSError, UnicodeDecodeError, input_limits.LimitExceeded) as exc:
        err = InputError(rel, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    except yaml.YAMLError as exc:
        err = yaml_error(rel, exc)
    else:
        bad = next((d for d in docs if not isinstance(d, dict)), None)
        if bad is None:
            raw = copy.deepcopy(docs)
            entry["documents"] = without_secret_values(docs)
            if entry["documents"] != raw:  # its cases are decided on what was written (gatekeeper_raw)
                entry[RAW] = raw
            return entry
        err = InputError(rel, f"expected Kubernetes objects, found a {type(bad).__name__}")
    errors.append(err)
    entry["error"] = err.to_dict()
    return entry


def _template_rego(spec_target: dict[str, Any]) -> tuple[Any, list[str], str]:
    """The Rego of a template target: ``rego``/``libs`` (Gatekeeper's v0), else a ``code`` entry with
    ``engine: Rego`` (whose ``source.version`` may say v1)."""
    if spec_target.get("rego"):
        return spec_target["rego"], _libs(spec_target.get("libs")), V0
    codes = spec_target.get("code")
    for code in codes if isinstance(codes, list) else []:
        source = dig(code, "source") or {}
        if dig(code, "engine") == "Rego" and isinstance(source, dict) and source.get("rego"):
            version = V1 if str(source.get("version", "")).lower() == "v1" else V0
            return source["rego"], _libs(source.get("libs")), version
    return None, [], V0


def _libs(value: Any) -> list[str]:
    return [str(lib) for lib in value] if isinstance(value, list) else []


class _TemplateRefused(Exception):
    """A template Kitemark cannot evaluate, with the input error that says why."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


# One embedded block of Rego: its name (``rego``, ``libs[0]``...), its source, and where it starts in
# the template file (line, indentation), to report errors at their place in the file.
_Part = tuple[str, str, tuple[int, int] | None]


def _collect_template(
    engine: RegoEngine,
    engine_cfg: dict[str, Any],
    root: Path,
    rel: str,
    ref: Reference,
    errors: list[InputError],
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": rel,
        "name": None,
        "kind": None,
        "rego": None,
        "libs": [],
        "version": V0,
        "package": None,
        "schema": None,
        "rego_line": None,
        "error": None,
    }
    try:
        parts = _read_template(root, rel, ref, entry)
        _check_template_rego(engine, engine_cfg, entry, parts)
    except _TemplateRefused as refused:
        errors.append(refused.error)
        # Rego that does not parse or compile is not kept as evidence: it may be anything.
        entry.update(rego=None, libs=[], error=refused.error.to_dict())
    return entry


def _read_template(root: Path, rel: str, ref: Reference, entry: dict[str, Any]) -> list[_Part]:
    """Fill ``entry`` from the template file; its blocks of Rego. Raises ``_TemplateRefused``."""
    try:
        text = read_file(root, rel)
        docs = load_documents(text)
        tree = yaml_tree(text)
    except RefusedPath as refused:
        raise _TemplateRefused(ref.refused(str(refused))) from None
    except (OSError, UnicodeDecodeError, input_limits.LimitExceeded) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise _TemplateRefused(InputError(rel, f"cannot read template: {reason}")) from None
    except yaml.YAMLError as exc:
        raise _TemplateRefused(yaml_error(rel, exc)) from None
    if len(docs) != 1 or not isinstance(docs[0], dict) or docs[0].get("kind") != "ConstraintTemplate":
        raise _TemplateRefused(InputError(rel, "expected exactly one ConstraintTemplate"))
    template = docs[0]
    entry["name"] = dig(template, "metadata", "name")
    entry["kind"] = dig(template, "spec", "crd", "spec", "names", "kind")
    entry["schema"] = dig(template, "spec", "crd", "spec", "validation", "openAPIV3Schema")
    targets = dig(template, "spec", "targets")
    target = targets[0] if isinstance(targets, list) and targets and isinstance(targets[0], dict) else {}
    rego, libs, version = _template_rego(target)
    if not rego or not isinstance(rego, str):
        raise _TemplateRefused(
            InputError(rel, "template has no Rego in spec.targets[0] (Kitemark evaluates Rego only)")
        )
    entry.update(rego=rego, libs=libs, version=version)
    lines = text.splitlines()
    rego_at = embedded_at(tree, lines, "spec", "targets", 0, "rego")
    entry["rego_line"] = rego_at[0] if rego_at else None
    return [
        ("rego", rego, rego_at),
        *(
            (f"libs[{n}]", lib, embedded_at(tree, lines, "spec", "targets", 0, "libs", n))
            for n, lib in enumerate(libs)
        ),
    ]


def _check_template_rego(
    engine: RegoEngine, engine_cfg: dict[str, Any], entry: dict[str, Any], parts: list[_Part]
) -> None:
    """Parse each block, require a ``violation`` rule, and compile them together, as Gatekeeper's
    constraint framework does before it accepts a template. Raises ``_TemplateRefused``."""
    rel, version = entry["path"], entry["version"]
    for part, source, _ in parts:
        try:
            module = engine.parse(f"{rel}#{part}", source, version)
        except RegoLimitError as exc:  # not known to be wrong, only not assessed: say which limit
            refused = InputError(rel, f"not assessed: {exc.message}", entry["rego_line"])
            raise _TemplateRefused(refused) from None
        except RegoError as exc:
            raise _TemplateRefused(_rego_error(rel, parts, "syntax", exc)) from None
        if part == "rego":
            entry["package"] = list(module.package)
            if not any(rule.name == "violation" for rule in module.rules):
                # Gatekeeper refuses such a template; without this, a typo (`violations[...]`) would
                # make every `violations: no` case pass.
                message = "missing required rule: violation (a ConstraintTemplate's rego must define it)"
                raise _TemplateRefused(InputError(rel, message, entry["rego_line"]))
    try:
        compiled = create_engine(**engine_cfg)
        for part, source, _ in parts:
            compiled.add_policy(f"{rel}#{part}", source, version)
        compiled.check()
    except RegoLimitError as exc:
        raise _TemplateRefused(InputError(rel, f"not assessed: {exc.message}", entry["rego_line"])) from None
    except RegoError as exc:
        raise _TemplateRefused(_rego_error(rel, parts, "compile", exc)) from None


def _rego_error(rel: str, parts: list[_Part], kind: str, exc: RegoError) -> InputError:
    """An error in embedded Rego at its line and column in the template file, not in the string."""
    where = {f"{rel}#{part}": (part, at) for part, _, at in parts}
    part, at = where.get(exc.path or "", ("rego", None))
    if at and exc.line:
        line, col = exc.line + at[0] - 1, (exc.col or 0) + at[1]
        return InputError(rel, f"Rego {kind} error in {part} at column {col}: {exc.message}", line)
    return InputError(rel, f"Rego {kind} error in {part}: {exc}")

"""Gatekeeper ``gator verify`` suite collection for a policies target: ``collect_suites`` finds every
``kind: Suite`` (``SUITE_API_VERSION``) YAML file, reads its tests and cases (with their lines), and
reads what a case that runs needs: each ConstraintTemplate (its schema and embedded Rego, parsed and
compiled, errors reported at their line in the template file) and each constraint, object and
inventory file. Skipped suites, tests and cases are not followed, as with gator. YAML loading and line
numbers come from ``kitemark.targets.policies.gatekeeper_yaml``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

import yaml

from kitemark.core.kinds import InputError
from kitemark.engines.rego import V0, V1, RegoEngine, RegoError, RegoModule, create_engine
from kitemark.targets.policies.files import read_file, relative_path, target_files
from kitemark.targets.policies.gatekeeper_yaml import (
    embedded_at,
    line_of,
    load_documents,
    yaml_error,
    yaml_tree,
)

SUITE_API_VERSION = "test.gatekeeper.sh/v1alpha1"


def collect_suites(
    engine: RegoEngine, engine_cfg: dict[str, Any], root: Path, errors: list[InputError]
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    suites: list[dict[str, Any]] = []
    templates: dict[str, Any] = {}
    objects: dict[str, Any] = {}
    for path in target_files(root, (".yaml", ".yml")):
        rel = relative_path(root, path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # not ours unless it is a suite; an unreadable suite cannot be recognised either
        if SUITE_API_VERSION not in text or not re.search(
            r"^kind:\s*[\"']?Suite[\"']?\s*$", text, re.MULTILINE
        ):
            continue
        suite = _collect_suite(root, rel, text, errors)
        if suite is None:
            continue
        suites.append(suite)
        # Like gator, read only what a case that runs needs: a skipped suite, test or case names files
        # that nothing reviews, so they cannot make the run an error.
        for test in [] if suite["skip"] else suite["tests"]:
            if test["skip"]:
                continue
            if test["template_path"] and test["template_path"] not in templates:
                templates[test["template_path"]] = _collect_template(
                    engine, engine_cfg, root, test["template_path"], errors
                )
            refs = [test["constraint_path"]]
            refs += [
                p
                for case in test["cases"]
                if not case["skip"]
                for p in [case["object_path"], *case["inventory_paths"]]
            ]
            for ref in refs:
                if ref and ref not in objects:
                    objects[ref] = _collect_objects(root, ref, errors)
    return suites, templates, objects


def _collect_suite(root: Path, rel: str, text: str, errors: list[InputError]) -> dict[str, Any] | None:
    entry: dict[str, Any] = {"path": rel, "name": None, "skip": False, "tests": [], "error": None}
    try:
        docs = load_documents(text)
        tree = yaml_tree(text)
    except yaml.YAMLError as exc:
        err = yaml_error(rel, exc)
        errors.append(err)
        entry["error"] = err.to_dict()
        return entry
    suite = next(
        (
            d
            for d in docs
            if isinstance(d, dict) and d.get("kind") == "Suite" and d.get("apiVersion") == SUITE_API_VERSION
        ),
        None,
    )
    if suite is None:
        return None
    entry["name"] = (suite.get("metadata") or {}).get("name")
    entry["skip"] = bool(suite.get("skip"))
    base = posixpath.dirname(rel)
    tests = suite.get("tests") or []
    if not isinstance(tests, list):
        err = InputError(rel, "suite 'tests' must be a list", line_of(tree, "tests"))
        errors.append(err)
        entry["error"] = err.to_dict()
        return entry
    for i, test in enumerate(tests):
        if not isinstance(test, dict):
            continue
        cases = []
        for j, case in enumerate(test.get("cases") or []):
            if not isinstance(case, dict):
                continue
            inventory = [str(p) for p in case.get("inventory") or []]
            cases.append(
                {
                    "name": str(case.get("name") or f"case-{j + 1}"),
                    "object": case.get("object"),
                    "object_path": _join(base, case.get("object")),
                    "assertions": case.get("assertions") or [],
                    "inventory": inventory,
                    "inventory_paths": [_join(base, p) for p in inventory],
                    "skip": bool(case.get("skip")),
                    "line": line_of(tree, "tests", i, "cases", j),
                }
            )
        entry["tests"].append(
            {
                "name": str(test.get("name") or f"test-{i + 1}"),
                "template": test.get("template"),
                "constraint": test.get("constraint"),
                "template_path": _join(base, test.get("template")),
                "constraint_path": _join(base, test.get("constraint")),
                "skip": bool(test.get("skip")),
                "invalid": bool(test.get("invalid")),
                "line": line_of(tree, "tests", i),
                "cases": cases,
            }
        )
    return entry


def _join(base: str, ref: Any) -> str | None:
    """A suite-relative reference as a normalised path relative to the target location."""
    if not ref or not isinstance(ref, str):
        return None
    return posixpath.normpath(posixpath.join(base, ref))


def _collect_objects(root: Path, rel: str, errors: list[InputError]) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": rel, "documents": [], "error": None}
    try:
        docs = load_documents(read_file(root, rel))
    except (OSError, UnicodeDecodeError) as exc:
        err = InputError(rel, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    except yaml.YAMLError as exc:
        err = yaml_error(rel, exc)
    else:
        bad = next((d for d in docs if not isinstance(d, dict)), None)
        if bad is None:
            entry["documents"] = docs
            return entry
        err = InputError(rel, f"expected Kubernetes objects, found a {type(bad).__name__}")
    errors.append(err)
    entry["error"] = err.to_dict()
    return entry


def _template_rego(spec_target: dict[str, Any]) -> tuple[str | None, list[str], str]:
    """The Rego of a template target: ``rego``/``libs`` (Gatekeeper's v0), else a ``code`` entry with
    ``engine: Rego`` (whose ``source.version`` may say v1)."""
    if spec_target.get("rego"):
        return spec_target["rego"], list(spec_target.get("libs") or []), V0
    for code in spec_target.get("code") or []:
        source = (code or {}).get("source") or {}
        if (code or {}).get("engine") == "Rego" and source.get("rego"):
            version = V1 if str(source.get("version", "")).lower() == "v1" else V0
            return source["rego"], list(source.get("libs") or []), version
    return None, [], V0


def _collect_template(
    engine: RegoEngine, engine_cfg: dict[str, Any], root: Path, rel: str, errors: list[InputError]
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

    def fail(err: InputError) -> dict[str, Any]:
        errors.append(err)
        entry["error"] = err.to_dict()
        return entry

    try:
        text = read_file(root, rel)
        docs = load_documents(text)
        tree = yaml_tree(text)
    except (OSError, UnicodeDecodeError) as exc:
        return fail(InputError(rel, f"cannot read template: {getattr(exc, 'strerror', None) or exc}"))
    except yaml.YAMLError as exc:
        return fail(yaml_error(rel, exc))
    if len(docs) != 1 or not isinstance(docs[0], dict) or docs[0].get("kind") != "ConstraintTemplate":
        return fail(InputError(rel, "expected exactly one ConstraintTemplate"))
    template = docs[0]
    spec = template.get("spec") or {}
    entry["name"] = (template.get("metadata") or {}).get("name")
    entry["kind"] = ((((spec.get("crd") or {}).get("spec") or {}).get("names")) or {}).get("kind")
    entry["schema"] = (((spec.get("crd") or {}).get("spec") or {}).get("validation") or {}).get(
        "openAPIV3Schema"
    )
    targets = spec.get("targets") or []
    target = targets[0] if targets and isinstance(targets[0], dict) else {}
    rego, libs, version = _template_rego(target)
    if not rego:
        return fail(InputError(rel, "template has no Rego in spec.targets[0] (Kitemark evaluates Rego only)"))
    entry.update(rego=rego, libs=libs, version=version)
    lines = text.splitlines()
    rego_at = embedded_at(tree, lines, "spec", "targets", 0, "rego")
    entry["rego_line"] = rego_at[0] if rego_at else None
    parts = [("rego", rego, rego_at)]
    parts += [
        (f"libs[{n}]", lib, embedded_at(tree, lines, "spec", "targets", 0, "libs", n))
        for n, lib in enumerate(libs)
    ]
    where = {f"{rel}#{part}": (part, at) for part, _, at in parts}

    def rego_error(kind: str, exc: RegoError) -> dict[str, Any]:
        # Report the error at its line and column in the template file, not in the embedded string.
        part, at = where.get(exc.path or "", ("rego", None))
        if at and exc.line:
            line, col = exc.line + at[0] - 1, (exc.col or 0) + at[1]
            return fail(InputError(rel, f"Rego {kind} error in {part} at column {col}: {exc.message}", line))
        return fail(InputError(rel, f"Rego {kind} error in {part}: {exc}"))

    for part, source, _ in parts:
        try:
            module: RegoModule = engine.parse(f"{rel}#{part}", source, version)
        except RegoError as exc:
            return rego_error("syntax", exc)
        if part == "rego":
            entry["package"] = list(module.package)
            if not any(rule.name == "violation" for rule in module.rules):
                # Gatekeeper's constraint framework refuses such a template; without this, a typo
                # (`violations[...]`) would make every `violations: no` case pass.
                return fail(
                    InputError(
                        rel,
                        "missing required rule: violation (a ConstraintTemplate's rego must define it)",
                        entry["rego_line"],
                    )
                )
    try:
        compiled = create_engine(**engine_cfg)
        for part, source, _ in parts:
            compiled.add_policy(f"{rel}#{part}", source, version)
        compiled.check()
    except RegoError as exc:
        return rego_error("compile", exc)
    return entry

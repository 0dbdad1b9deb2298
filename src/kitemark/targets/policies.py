"""Policies collector: a directory of Rego and Gatekeeper ``gator verify`` suites.

Two scopes:

- ``rego-test``: one unit per ``test_*`` rule of every ``*_test.rego`` file (``test_*`` rules of other
  files are listed in the inventory but not run). A test is evaluated as ``opa test <location>``
  would: every ``.rego`` file under the location is loaded into one engine (tests and policies
  alike); the rule passes when it is defined and ``true``, fails when it is ``false``, undefined or
  any other value, and is an *error* when evaluation fails. Test rules are discovered from the
  engine's parse tree (regorus's AST), not with a regex. Rego versions: ``import rego.v1`` means v1;
  otherwise v1 is tried first and v0 is the fallback (see ``kitemark.rego``).
  Input errors: a file that does not parse is an ``InputError`` (``file:line``, column in the
  message), and so is a file that parses but does not compile with the others (an undefined or
  unsafe variable), which is then left out so it cannot fail every other test. A test file that does
  not parse becomes one unit ``<label>/<relpath>`` carrying its error; one that does not compile
  keeps a unit per test, each carrying it; and a broken policy file is carried by the tests of its
  own directory or package, since they cannot be assessed without it.
- ``gatekeeper-case``: one unit per case of every ``kind: Suite`` (``test.gatekeeper.sh/v1alpha1``)
  YAML file. The case's object is reviewed the way Gatekeeper's ``gator verify`` does: ``input.review``
  is built from the object (``kind`` {group, version, kind}, ``name``, ``namespace``, ``operation:
  CREATE``, ``userInfo: {}``, ``object``) or taken from an AdmissionReview's ``request`` (a DELETE
  reviews its ``oldObject``); ``input.parameters`` is the constraint's ``spec.parameters`` (``{}``
  when absent) and must fit the template's schema; ``data.inventory`` holds the case's inventory
  objects; and the constraint's ``spec.match`` (kinds, scope, namespaces, excludedNamespaces,
  labelSelector, namespaceSelector, name) decides whether the template runs at all. The template's
  ``violation`` results are compared with the case's assertions (``violations: yes|no|N``, default
  ``yes``; ``message`` a regular expression searched in each violation's ``msg``, as gator does).

Inventory payload::

    "engine": {"name": "regorus"},
    "rego_files": [{"path", "source", "package", "package_path", "version": "v0"|"v1", "test_file": bool,
                    "tests": [{"name", "line"}], "error": InputError | None}],
    "suites": [{"path", "name", "skip", "error",
                "tests": [{"name", "template", "constraint", "skip", "invalid", "line",
                           "template_path", "constraint_path",        # normalised, relative to location
                           "cases": [{"name", "object", "object_path", "assertions": [...],
                                      "inventory": [...], "inventory_paths": [...], "skip", "line"}]}]}],
    "templates": {path: {"path", "name", "kind", "rego", "libs", "version", "package",
                         "schema", "rego_line", "error"}},
    "objects": {path: {"path", "documents": [...], "error"}},   # constraints, objects, inventories
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kitemark.errors import UsageError
from kitemark.rego import UNDEFINED, V0, V1, RegoEngine, RegoError, RegoModule, create_engine, rule_ref
from kitemark.targets import InputError, Inventory, TargetSpec, Unit

KIND = "policies"
SUITE_API_VERSION = "test.gatekeeper.sh/v1alpha1"
DEFAULT_ENGINE = "regorus"


# ------------------------------------------------------------------------------------------------ YAML


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as strings (Kubernetes does, and the inventory must be JSON)."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_error(rel: str, exc: yaml.YAMLError) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return InputError(rel, f"invalid YAML: {problem}", mark.line + 1 if mark else None)


def _load_documents(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_YamlLoader) if doc is not None]


def _tree(text: str) -> yaml.Node | None:
    """The node tree of a single-document file (for line numbers); None for several documents."""
    try:
        return yaml.compose(text, Loader=_YamlLoader)
    except yaml.YAMLError:
        return None


def _node_line(root: yaml.Node | None, *keys: str | int) -> yaml.Node | None:
    """The YAML node at a path of mapping keys / sequence indexes (for line numbers)."""
    node = root
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return None
    return node


def _line_of(root: yaml.Node | None, *keys: str | int) -> int | None:
    node = _node_line(root, *keys)
    return node.start_mark.line + 1 if node is not None else None


# ---------------------------------------------------------------------------------------------- collect


def collect(spec: TargetSpec) -> Inventory:
    root = Path(spec.location)
    if not root.exists():
        raise UsageError(f"policies target '{spec.name}': {spec.location} does not exist")
    if not root.is_dir():
        raise UsageError(f"policies target '{spec.name}': {spec.location} is not a directory")
    engine_cfg = _engine_config(spec.options.get("engine"))
    engine = create_engine(**engine_cfg)
    errors: list[InputError] = []
    rego_files = [_collect_rego(engine, root, path, errors) for path in _files(root, (".rego",))]
    _set_aside_compile_errors(engine_cfg, rego_files, errors)
    suites, templates, objects = _collect_suites(engine, engine_cfg, root, errors)
    return {
        "kind": KIND,
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "errors": [e.to_dict() for e in errors],
        "engine": engine_cfg,
        "rego_files": rego_files,
        "suites": suites,
        "templates": templates,
        "objects": objects,
    }


def _engine_config(option: Any) -> dict[str, Any]:
    """``options["engine"]``: an engine name, or ``{"name": ..., <engine settings>}`` (e.g. a server URL).
    It travels in the inventory so that every worker evaluates with the same engine."""
    if isinstance(option, dict):
        return {"name": DEFAULT_ENGINE, **option}
    return {"name": str(option or DEFAULT_ENGINE)}


def collect_fixture(path: Path) -> Inventory:
    """A self-test fixture directory (``fixtures/checks/<CHECK-ID>/<variant>``) as a policies target."""
    return collect(TargetSpec(KIND, f"{path.parent.name}-{path.name}", str(path)))


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``root`` with one of ``suffixes``, hidden directories skipped, sorted by path."""
    found: list[Path] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(current) / f for f in files if f.endswith(suffixes) and not f.startswith("."))
    return sorted(found, key=lambda p: _rel(root, p))


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _read(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def _rego_input_error(rel: str, kind: str, exc: RegoError) -> InputError:
    col = f" at column {exc.col}" if exc.col else ""
    return InputError(rel, f"Rego {kind} error{col}: {exc.message}", exc.line)


def _collect_rego(engine: RegoEngine, root: Path, path: Path, errors: list[InputError]) -> dict[str, Any]:
    rel = _rel(root, path)
    entry: dict[str, Any] = {
        "path": rel,
        "source": "",
        "package": None,
        "package_path": None,
        "version": None,
        "test_file": path.name.endswith("_test.rego"),
        "tests": [],
        "error": None,
    }
    try:
        entry["source"] = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err = InputError(rel, f"cannot read: {exc}")
        errors.append(err)
        entry["error"] = err.to_dict()
        return entry
    try:
        module = engine.parse(rel, entry["source"])
    except RegoError as exc:
        err = _rego_input_error(rel, "syntax", exc)
        errors.append(err)
        entry["error"] = err.to_dict()
        # Remember the declared package so tests of the same package know they depend on this file.
        declared = re.search(r"^\s*package\s+([\w.]+)", entry["source"], re.MULTILINE)
        entry["package"] = declared[1] if declared else None
        return entry
    entry["package"] = module.package_name
    entry["package_path"] = list(module.package)
    entry["version"] = module.version
    entry["tests"] = [{"name": r.name, "line": r.line} for r in module.test_rules]
    return entry


def _set_aside_compile_errors(
    engine_cfg: dict[str, Any], files: list[dict[str, Any]], errors: list[InputError]
) -> None:
    """Load every parsed file together, as the tests will be; a file that does not compile (unsafe or
    undefined variables...) would fail every test of the target, so record it and leave it out."""
    loaded = [f for f in files if not f["error"]]
    while loaded:
        engine = create_engine(**engine_cfg)
        for f in loaded:
            engine.add_policy(f["path"], f["source"], f["version"])
        try:
            engine.check()
            return
        except RegoError as exc:
            culprit = next((f for f in loaded if f["path"] == exc.path), None)
            if culprit is None:  # no file to blame: every test will report the error itself
                return
            err = _rego_input_error(culprit["path"], "compile", exc)
            errors.append(err)
            culprit["error"] = err.to_dict()
            loaded.remove(culprit)


# ---- Gatekeeper suites


def _collect_suites(
    engine: RegoEngine, engine_cfg: dict[str, Any], root: Path, errors: list[InputError]
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    suites: list[dict[str, Any]] = []
    templates: dict[str, Any] = {}
    objects: dict[str, Any] = {}
    for path in _files(root, (".yaml", ".yml")):
        rel = _rel(root, path)
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
        for test in suite["tests"]:
            if test["template_path"] and test["template_path"] not in templates:
                templates[test["template_path"]] = _collect_template(
                    engine, engine_cfg, root, test["template_path"], errors
                )
            refs = [test["constraint_path"]]
            refs += [p for case in test["cases"] for p in [case["object_path"], *case["inventory_paths"]]]
            for ref in refs:
                if ref and ref not in objects:
                    objects[ref] = _collect_objects(root, ref, errors)
    return suites, templates, objects


def _collect_suite(root: Path, rel: str, text: str, errors: list[InputError]) -> dict[str, Any] | None:
    entry: dict[str, Any] = {"path": rel, "name": None, "skip": False, "tests": [], "error": None}
    try:
        docs = _load_documents(text)
        tree = _tree(text)
    except yaml.YAMLError as exc:
        err = _yaml_error(rel, exc)
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
        err = InputError(rel, "suite 'tests' must be a list", _line_of(tree, "tests"))
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
                    "line": _line_of(tree, "tests", i, "cases", j),
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
                "line": _line_of(tree, "tests", i),
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
        docs = _load_documents(_read(root, rel))
    except (OSError, UnicodeDecodeError) as exc:
        err = InputError(rel, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    except yaml.YAMLError as exc:
        err = _yaml_error(rel, exc)
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


def _embedded_at(tree: yaml.Node | None, lines: list[str], *keys: str | int) -> tuple[int, int] | None:
    """Where an embedded block of Rego starts in its YAML file: (first line, indentation)."""
    node = _node_line(tree, *keys)
    if node is None:
        return None
    if node.style in ("|", ">"):  # a block scalar starts on the line after its indicator
        first = node.start_mark.line + 1
        text = lines[first] if first < len(lines) else ""
        return first + 1, len(text) - len(text.lstrip(" "))
    return node.start_mark.line + 1, node.start_mark.column + (1 if node.style in ("'", '"') else 0)


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
        text = _read(root, rel)
        docs = _load_documents(text)
        tree = _tree(text)
    except (OSError, UnicodeDecodeError) as exc:
        return fail(InputError(rel, f"cannot read template: {getattr(exc, 'strerror', None) or exc}"))
    except yaml.YAMLError as exc:
        return fail(_yaml_error(rel, exc))
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
    rego_at = _embedded_at(tree, lines, "spec", "targets", 0, "rego")
    entry["rego_line"] = rego_at[0] if rego_at else None
    parts = [("rego", rego, rego_at)]
    parts += [
        (f"libs[{n}]", lib, _embedded_at(tree, lines, "spec", "targets", 0, "libs", n))
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
    try:
        compiled = create_engine(**engine_cfg)
        for part, source, _ in parts:
            compiled.add_policy(f"{rel}#{part}", source, version)
        compiled.check()
    except RegoError as exc:
        return rego_error("compile", exc)
    return entry


# ------------------------------------------------------------------------------------------------ units


def _unit_id(inventory: Inventory, rel: str, fragment: str | None = None) -> str:
    return f"{inventory['target']}/{rel}" + (f"#{fragment}" if fragment else "")


def _bundle_key(engine_cfg: dict[str, Any], modules: list[tuple[str, str, str]]) -> str:
    digest = hashlib.sha256(json.dumps(engine_cfg, sort_keys=True).encode())
    for path, source, version in modules:
        digest.update(f"\0{path}\0{version}\0".encode())
        digest.update(source.encode())
    return digest.hexdigest()


def rego_test_units(inventory: Inventory) -> list[Unit]:
    files = inventory.get("rego_files", [])
    modules = [(f["path"], f["source"], f["version"]) for f in files if not f["error"]]
    key = _bundle_key(inventory.get("engine") or {}, modules)
    broken = [f for f in files if f["error"]]
    units: list[Unit] = []
    for f in files:
        if not f["test_file"]:
            continue
        if f["error"] and not f["tests"]:
            # Unparseable: its tests are unknown, so the file itself is the unit.
            units.append(
                Unit(
                    _unit_id(inventory, f["path"]),
                    inventory["target"],
                    None,
                    [InputError.from_dict(f["error"])],
                )
            )
            continue
        # A test cannot be assessed without a broken policy file of its own directory or package;
        # that error comes first (it is the cause), then the file's own compile error.
        depends = [
            InputError.from_dict(b["error"])
            for b in broken
            if not b["test_file"]
            and (posixpath.dirname(b["path"]) == posixpath.dirname(f["path"]) or b["package"] == f["package"])
        ]
        if f["error"]:
            depends.append(InputError.from_dict(f["error"]))
        for test in f["tests"]:
            case = RegoTestCase(
                target=inventory["target"],
                path=f["path"],
                package=tuple(f.get("package_path") or f["package"].split(".")),
                rule=test["name"],
                line=test["line"],
                version=f["version"],
                modules=modules,
                engine_cfg=inventory.get("engine") or {"name": DEFAULT_ENGINE},
                bundle_key=key,
            )
            units.append(
                Unit(_unit_id(inventory, f["path"], test["name"]), inventory["target"], case, depends)
            )
    return units


def gatekeeper_case_units(inventory: Inventory) -> list[Unit]:
    templates = inventory.get("templates", {})
    objects = inventory.get("objects", {})
    engine_cfg = inventory.get("engine") or {"name": DEFAULT_ENGINE}
    units: list[Unit] = []
    seen: set[str] = set()
    for suite in inventory.get("suites", []):
        if suite["error"]:
            units.append(
                Unit(
                    _unit_id(inventory, suite["path"]),
                    inventory["target"],
                    None,
                    [InputError.from_dict(suite["error"])],
                )
            )
            continue
        for test in suite["tests"]:
            if test["invalid"]:
                continue  # a constraint expected to be rejected: there are no cases to review
            template = templates.get(test["template_path"] or "", None)
            for case in test["cases"]:
                skip = suite["skip"] or test["skip"] or case["skip"]
                # gator does not read what a skipped case names, so its inputs cannot make it an error.
                errors = [] if skip else _case_input_errors(suite, test, case, template, objects)
                uid = _unit_id(inventory, suite["path"], f"{test['name']}/{case['name']}")
                n, base = 2, uid
                while uid in seen:  # duplicate names in a suite must still give unique, stable ids
                    uid, n = f"{base}~{n}", n + 1
                seen.add(uid)
                data = GatekeeperCase(
                    target=inventory["target"],
                    suite=suite["path"],
                    test=test["name"],
                    case=case["name"],
                    line=case["line"],
                    skip=skip,
                    template=template or {},
                    constraint_path=test["constraint_path"] or "",
                    constraint_docs=_docs(objects, test["constraint_path"]),
                    object_path=case["object_path"] or "",
                    object_docs=_docs(objects, case["object_path"]),
                    inventory_docs=[d for p in case["inventory_paths"] for d in _docs(objects, p)],
                    assertions=case["assertions"],
                    engine_cfg=engine_cfg,
                )
                units.append(Unit(uid, inventory["target"], data, errors))
    return units


def _docs(objects: dict[str, Any], path: str | None) -> list[Any]:
    return list((objects.get(path or "") or {}).get("documents") or [])


def _case_input_errors(
    suite: dict[str, Any],
    test: dict[str, Any],
    case: dict[str, Any],
    template: dict[str, Any] | None,
    objects: dict[str, Any],
) -> list[InputError]:
    errors: list[InputError] = []
    if not test["template_path"]:
        errors.append(InputError(suite["path"], f"test '{test['name']}' names no template", test["line"]))
    elif template and template["error"]:
        errors.append(InputError.from_dict(template["error"]))
    if not test["constraint_path"]:
        errors.append(InputError(suite["path"], f"test '{test['name']}' names no constraint", test["line"]))
    if not case["object_path"]:
        errors.append(InputError(suite["path"], f"case '{case['name']}' names no object", case["line"]))
    for path in [test["constraint_path"], case["object_path"], *case["inventory_paths"]]:
        entry = objects.get(path or "")
        if entry and entry["error"]:
            errors.append(InputError.from_dict(entry["error"]))
    return errors


SCOPES = {"rego-test": rego_test_units, "gatekeeper-case": gatekeeper_case_units}


# ---------------------------------------------------------------------------------------------- engines

_ENGINE_CACHE: dict[str, RegoEngine] = {}
_CACHE_SIZE = 32


def _cached_engine(key: str, build: Any) -> RegoEngine:
    """Engines are built once per process and policy set (pytest-xdist workers each build their own)."""
    engine = _ENGINE_CACHE.get(key)
    if engine is None:
        if len(_ENGINE_CACHE) >= _CACHE_SIZE:
            _ENGINE_CACHE.pop(next(iter(_ENGINE_CACHE)))
        engine = _ENGINE_CACHE[key] = build()
    return engine


# ------------------------------------------------------------------------------------------- rego tests


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

        return _cached_engine(self.bundle_key, build)

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


# ------------------------------------------------------------------------------------ gatekeeper cases


@dataclass
class CaseOutcome:
    passed: bool
    matched: bool
    violations: list[dict[str, Any]]
    failures: list[str]
    error: str | None = None


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

    @property
    def resource(self) -> str:
        return f"{self.suite}#{self.test}/{self.case}"

    @property
    def location(self) -> str:
        return f"{self.suite}:{self.line}" if self.line else self.suite

    def _engine(self) -> RegoEngine:
        tpl = self.template
        key = _bundle_key(self.engine_cfg, [(tpl["path"], tpl["rego"], tpl["version"])])
        key = _bundle_key(
            {"template": key}, [(str(n), lib, tpl["version"]) for n, lib in enumerate(tpl["libs"])]
        )

        def build() -> RegoEngine:
            engine = create_engine(**self.engine_cfg)
            engine.add_policy(f"{tpl['path']}#rego", tpl["rego"], tpl["version"])
            for n, lib in enumerate(tpl["libs"]):
                engine.add_policy(f"{tpl['path']}#libs[{n}]", lib, tpl["version"])
            return engine

        return _cached_engine(key, build)

    def run(self) -> CaseOutcome:
        try:
            assertions = [parse_assertion(a) for a in self.assertions]
            if not assertions:
                raise CaseError("the case has no assertions (gator requires at least one)")
            constraint = self._constraint()
            obj, review, namespace = self._review()
            matched = matches(constraint.get("spec", {}).get("match") or {}, obj, namespace)
            violations = self._violations(constraint, review) if matched else []
        except (CaseError, RegoError) as exc:
            return CaseOutcome(False, False, [], [], error=str(exc))
        failures = [f for a in assertions if (f := a.check(violations))]
        return CaseOutcome(not failures, matched, violations, failures)

    def _constraint(self) -> dict[str, Any]:
        if len(self.constraint_docs) != 1:
            raise CaseError(f"{self.constraint_path} must hold exactly one constraint")
        constraint = self.constraint_docs[0]
        if self.template.get("kind") and constraint.get("kind") != self.template["kind"]:
            raise CaseError(
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
                raise CaseError(
                    f"constraint parameters do not fit the template schema at {path}: {exc.message}"
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
            review = {
                "uid": "",
                "kind": {
                    "group": _group(api_version),
                    "version": api_version.rpartition("/")[2],
                    "kind": obj.get("kind", ""),
                },
                "name": meta.get("name", ""),
                "operation": "CREATE",
                "userInfo": {},
                "object": obj,
                "oldObject": None,
                "dryRun": False,
            }
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
        value = engine.eval_rule(
            rule_ref(package, "violation"),
            input={"review": review, "parameters": parameters if parameters is not None else {}},
        )
        if not isinstance(value, list):
            value = []  # undefined: a template without a violation rule never violates
        return [v if isinstance(v, dict) else {"msg": str(v)} for v in value]


class CaseError(Exception):
    """The case cannot be evaluated as written (gator would report it as an error)."""


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
        try:
            pattern = re.compile(self.message)
        except re.error:  # not a regex Python reads: fall back to a plain substring
            return sum(self.message in str(v.get("msg", "")) for v in violations)
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


# ---- spec.match


def _wildcard(pattern: str, value: str) -> bool:
    """Gatekeeper's name globs: ``kube-*`` (prefix), ``*-system`` (suffix), else exact."""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def _selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    labels = {str(k): str(v) for k, v in (labels or {}).items()}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = (
            str(expr.get("key")),
            expr.get("operator"),
            [str(v) for v in expr.get("values") or []],
        )
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise CaseError(f"unknown label selector operator {op!r}")
    return True


def matches(match: dict[str, Any], obj: dict[str, Any], namespace: dict[str, Any] | None = None) -> bool:
    """Gatekeeper's ``spec.match``: kinds, scope, namespaces, excludedNamespaces, labelSelector,
    namespaceSelector and name, all of which must hold. ``namespace`` is the object's Namespace
    (needed only by ``namespaceSelector`` for namespaced objects)."""
    meta = obj.get("metadata") or {}
    group, kind = _group(str(obj.get("apiVersion", ""))), obj.get("kind", "")
    is_namespace = kind == "Namespace" and group == ""
    obj_ns = meta.get("namespace") or ""

    kinds = match.get("kinds") or []
    if kinds and not any(
        (not k.get("kinds") or "*" in k["kinds"] or kind in k["kinds"])
        and (not k.get("apiGroups") or "*" in k["apiGroups"] or group in k["apiGroups"])
        for k in kinds
    ):
        return False

    scope = match.get("scope")
    if scope == "Cluster" and not (is_namespace or not obj_ns):
        return False
    if scope == "Namespaced" and (is_namespace or not obj_ns):
        return False

    # For a Namespace the namespace is its own name; a cluster-scoped object is never excluded.
    ns_name = meta.get("name", "") if is_namespace else obj_ns
    if ns_name or is_namespace:
        if match.get("namespaces") and not any(_wildcard(str(p), ns_name) for p in match["namespaces"]):
            return False
        if any(_wildcard(str(p), ns_name) for p in match.get("excludedNamespaces") or []):
            return False

    if match.get("labelSelector") is not None and not _selector_matches(
        match["labelSelector"], meta.get("labels")
    ):
        return False

    selector = match.get("namespaceSelector")
    if selector is not None and (is_namespace or obj_ns):
        if is_namespace:
            labels = meta.get("labels")
        elif namespace is not None:
            labels = (namespace.get("metadata") or {}).get("labels")
        else:
            raise CaseError(f"namespaceSelector needs Namespace {obj_ns!r}: add it to the case's inventory")
        if not _selector_matches(selector, labels or {}):
            return False

    name = match.get("name")
    return not (name and not _wildcard(str(name), meta.get("name", "")))


# --------------------------------------------------------------------------------------------- timing


def evaluate_all(inventory: Inventory) -> dict[str, Any]:
    """Run every test and case of an inventory (for benchmarks and the demo); returns counts and time."""
    start = time.perf_counter()
    counts: dict[str, int] = {}
    for unit in rego_test_units(inventory):
        status = "error" if unit.errors else unit.data.run().status
        counts[f"rego-test:{status}"] = counts.get(f"rego-test:{status}", 0) + 1
    for unit in gatekeeper_case_units(inventory):
        if unit.errors:
            status = "error"
        else:
            outcome = unit.data.run()
            status = "error" if outcome.error else "passed" if outcome.passed else "failed"
        counts[f"gatekeeper-case:{status}"] = counts.get(f"gatekeeper-case:{status}", 0) + 1
    return {"counts": counts, "seconds": round(time.perf_counter() - start, 4)}

"""Policies collector: a directory of Rego and Gatekeeper ``gator verify`` suites.

This module collects the inventory and splits it into units; what a unit runs lives beside it:
``kitemark.targets.rego_tests`` (``RegoTestCase``) and ``kitemark.gatekeeper`` (``GatekeeperCase``,
``spec.match``, assertions), sharing engines through ``kitemark.rego_cache``.

Two scopes:

- ``rego-test``: one unit per ``test_*`` rule body of every ``*_test.rego`` file (``test_*`` rules of
  other files are listed in the inventory but not run). Bodies sharing a name are separate units
  (``#test_x``, ``#test_x#01``...), each evaluated on its own (see ``kitemark.targets.rego_tests``).
  A test is evaluated as ``opa test <location>`` would: every ``.rego`` file under the location is
  loaded into one engine (tests and policies alike); the rule passes when it is defined and
  ``true``, fails when it is ``false``, undefined or any other value, and is an *error* when
  evaluation fails. Test rules are discovered from the engine's parse tree (regorus's AST), not with
  a regex. Rego versions: ``import rego.v1`` means v1; otherwise v1 is tried first and v0 is the
  fallback (see ``kitemark.rego``).
  Input errors: a file that does not parse is an ``InputError`` (``file:line``, column in the
  message), and so is a file that parses but does not compile with the others (an undefined or
  unsafe variable), which is then left out so it cannot fail every other test. A test file that does
  not parse becomes one unit ``<label>/<relpath>`` carrying its error; one that does not compile
  keeps a unit per test, each carrying it; and a broken policy file is carried by the tests of its
  own directory or package, since they cannot be assessed without it, or, when it has none, is a
  unit ``<label>/<relpath>`` of its own (so no input error goes unreported).
- ``gatekeeper-case``: one unit per case of every ``kind: Suite`` (``test.gatekeeper.sh/v1alpha1``)
  YAML file (``<label>/<suite>#<test>/<case>``), and one per ``invalid: true`` test
  (``<label>/<suite>#<test>``), which passes only when the constraint fails schema validation against
  the template's ``openAPIV3Schema`` (gator's ``constraints.ErrSchema``; a constraint of another kind is
  rejected too, but not by the schema, so the test fails as in gator). The case's object is reviewed
  the way Gatekeeper's ``gator verify`` does: ``input.review`` is built from the object (``kind``
  {group, version, kind}, ``name``, ``namespace`` and ``object`` set; ``operation``, ``uid`` and
  ``userInfo`` left at Go's zero values ``""``/``{}``, no ``dryRun``) or taken from an AdmissionReview's
  ``request`` (a DELETE reviews its ``oldObject``); ``input.parameters`` is the constraint's
  ``spec.parameters`` (``{}`` when absent) and must fit the template's schema; ``data.inventory`` holds
  the case's inventory objects; and the constraint's ``spec.match`` (kinds, scope, namespaces,
  excludedNamespaces, labelSelector, namespaceSelector, name; globs ``abc*``, ``*abc``, ``*abc*``)
  decides whether the template runs at all. The template's ``violation`` results are compared with
  the case's assertions (``violations: yes|no|N``, default ``yes``; ``message`` a Go RE2 regular
  expression searched in each violation's ``msg``; one RE2 refuses, such as a lookaround or a
  backreference, is an error of the case when there is a violation to match, as in gator).
  Input errors: a suite that does not parse is one unit ``<label>/<relpath>``; a template without a
  ``violation`` rule ("missing required rule: violation", as Gatekeeper refuses it) or otherwise
  broken, or a broken constraint, object or inventory file, is carried by every case or invalid test
  that needs it, or, when none does (all its cases skipped), is a unit ``<label>/<relpath>`` of its
  own. As with gator, what a skipped suite, test or case names is not read.

A directory with no ``.rego`` file and no suite is a usage error, not an empty (compliant) target.

Inventory payload::

    "engine": {"name": "regorus"},
    "rego_files": [{"path", "source", "package", "package_path", "version": "v0"|"v1", "test_file": bool,
                    "tests": [{"name", "line", "end_line", "span", "name_span"}],  # spans: byte offsets
                    "error": InputError | None}],
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

import os
import posixpath
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from kitemark.errors import UsageError
from kitemark.gatekeeper import GatekeeperCase
from kitemark.rego import V0, V1, RegoEngine, RegoError, RegoModule, create_engine
from kitemark.rego_cache import bundle_key
from kitemark.targets import InputError, Inventory, TargetSpec, Unit
from kitemark.targets.rego_tests import RegoTestCase, isolate, rule_source

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
    if not rego_files and not suites:
        # Nothing to assess would otherwise read as "not applicable" and a compliant run.
        raise UsageError(
            f"policies target '{spec.name}': no .rego files or Gatekeeper suites (kind: Suite) "
            f"found under {spec.location}"
        )
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
    entry["tests"] = [
        {
            "name": r.name,
            "line": r.line,
            "end_line": r.end_line,
            "span": list(r.span),
            "name_span": list(r.name_span),
        }
        for r in module.test_rules
    ]
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
    style = getattr(node, "style", None)  # only scalar nodes have one
    if style in ("|", ">"):  # a block scalar starts on the line after its indicator
        first = node.start_mark.line + 1
        text = lines[first] if first < len(lines) else ""
        return first + 1, len(text) - len(text.lstrip(" "))
    return node.start_mark.line + 1, node.start_mark.column + (1 if style in ("'", '"') else 0)


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


# ------------------------------------------------------------------------------------------------ units


def _unit_id(inventory: Inventory, rel: str, fragment: str | None = None) -> str:
    return f"{inventory['target']}/{rel}" + (f"#{fragment}" if fragment else "")


def rego_test_units(inventory: Inventory) -> list[Unit]:
    files = inventory.get("rego_files", [])
    modules = [(f["path"], f["source"], f["version"]) for f in files if not f["error"]]
    key = bundle_key(inventory.get("engine") or {}, modules)
    engine_cfg = inventory.get("engine") or {"name": DEFAULT_ENGINE}
    broken = [f for f in files if f["error"]]
    # Every loaded definition of each test name in each package (they would be OR-ed together).
    namesakes: dict[tuple[tuple[str, ...], str], list[tuple[str, dict[str, Any]]]] = {}
    for f in files:
        if not f["error"]:
            for test in f["tests"]:
                namesakes.setdefault((_package(f), test["name"]), []).append((f["path"], test))
    per_file: dict[str, list[Unit]] = {}
    for f in files:
        if not f["test_file"]:
            continue
        if f["error"] and not f["tests"]:
            # Unparseable: its tests are unknown, so the file itself is the unit.
            per_file[f["path"]] = [_error_unit(inventory, f["path"], f["error"])]
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
        units = per_file.setdefault(f["path"], [])
        numbered: dict[str, int] = {}
        for test in f["tests"]:
            # Bodies sharing a name are separate tests: `test_x`, then `test_x#01`, `#02`... in file order.
            k = numbered[test["name"]] = numbered.get(test["name"], -1) + 1
            name = test["name"] if k == 0 else f"{test['name']}#{k:02d}"
            case = RegoTestCase(
                target=inventory["target"],
                path=f["path"],
                package=_package(f),
                rule=test["name"],
                line=test["line"],
                version=f["version"],
                modules=modules,
                engine_cfg=engine_cfg,
                bundle_key=key,
                name=name,
                end_line=test.get("end_line") or test["line"],
                source=rule_source(f["source"], test["line"], test.get("end_line") or test["line"]),
            )
            _isolate(case, f, test, namesakes)
            units.append(Unit(_unit_id(inventory, f["path"], name), inventory["target"], case, depends))
    # A broken file that no test depends on (a policy without tests of its own) is a unit of its own:
    # otherwise its error would reach no result and the run would read as compliant.
    carried = _carried(u for group in per_file.values() for u in group)
    for f in broken:
        if f["path"] not in per_file and _error_key(f["error"]) not in carried:
            per_file[f["path"]] = [_error_unit(inventory, f["path"], f["error"])]
    return [u for f in files for u in per_file.get(f["path"], [])]


def _package(f: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f.get("package_path") or (f["package"] or "").split("."))


def _isolate(
    case: RegoTestCase,
    f: dict[str, Any],
    test: dict[str, Any],
    namesakes: dict[tuple[tuple[str, ...], str], list[tuple[str, dict[str, Any]]]],
) -> None:
    """Give ``case`` modules in which the other definitions of its name are renamed away, so that it
    is evaluated on its own body (see ``kitemark.targets.rego_tests``)."""
    others: dict[str, list[tuple[int, int]]] = {}
    for path, other in namesakes.get((case.package, test["name"]), []):
        if other is not test:
            others.setdefault(path, []).append(tuple(other["name_span"]))
    if not others:
        return
    try:
        case.modules = isolate(case.modules, others, test["name"])
    except ValueError as exc:
        case.isolation_error = str(exc)
        return
    case.bundle_key = bundle_key(case.engine_cfg, case.modules)


def _error_key(error: dict[str, Any]) -> tuple[str, int | None, str]:
    return error["path"], error.get("line"), error["message"]


def _carried(units: Iterable[Unit]) -> set[tuple[str, int | None, str]]:
    """The input errors some unit already reports."""
    return {_error_key(e.to_dict()) for u in units for e in u.errors}


def _error_unit(inventory: Inventory, rel: str, error: dict[str, Any]) -> Unit:
    """A file that could not be used, as a unit of its own: every check on it reports the error."""
    return Unit(_unit_id(inventory, rel), inventory["target"], None, [InputError.from_dict(error)])


def gatekeeper_case_units(inventory: Inventory) -> list[Unit]:
    templates = inventory.get("templates", {})
    objects = inventory.get("objects", {})
    engine_cfg = inventory.get("engine") or {"name": DEFAULT_ENGINE}
    units: list[Unit] = []
    seen: set[str] = set()
    for suite in inventory.get("suites", []):
        if suite["error"]:
            units.append(_error_unit(inventory, suite["path"], suite["error"]))
            seen.add(units[-1].id)
            continue
        for test in suite["tests"]:
            template = templates.get(test["template_path"] or "", None)
            if test["invalid"]:
                # A constraint expected to be rejected: one unit for the test, `<suite>#<test name>`.
                skip = suite["skip"] or test["skip"]
                errors = [] if skip else _test_input_errors(suite, test, template, objects)
                uid = _unique(_unit_id(inventory, suite["path"], test["name"]), seen)
                data = GatekeeperCase(
                    target=inventory["target"],
                    suite=suite["path"],
                    test=test["name"],
                    case="",
                    line=test["line"],
                    skip=skip,
                    template=template or {},
                    constraint_path=test["constraint_path"] or "",
                    constraint_docs=_docs(objects, test["constraint_path"]),
                    object_path="",
                    object_docs=[],
                    inventory_docs=[],
                    assertions=[],
                    engine_cfg=engine_cfg,
                    invalid=True,
                )
                units.append(Unit(uid, inventory["target"], data, errors))
                continue
            for case in test["cases"]:
                skip = suite["skip"] or test["skip"] or case["skip"]
                # gator does not read what a skipped case names, so its inputs cannot make it an error.
                errors = [] if skip else _case_input_errors(suite, test, case, template, objects)
                uid = _unique(_unit_id(inventory, suite["path"], f"{test['name']}/{case['name']}"), seen)
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
    # A broken template or object that no unit reports (named only by skipped cases, or by a test
    # whose cases are all skipped) is a unit of its own, so that its error still reaches a result.
    carried = _carried(units)
    files = sorted([*templates.values(), *objects.values()], key=lambda entry: entry["path"])
    for entry in files:
        if entry["error"] and _error_key(entry["error"]) not in carried:
            carried.add(_error_key(entry["error"]))
            unit = _error_unit(inventory, entry["path"], entry["error"])
            unit.id = _unique(unit.id, seen)  # one file read both as a template and as objects
            units.append(unit)
    return units


def _unique(uid: str, seen: set[str]) -> str:
    """``uid``, or ``uid~2``, ``uid~3``... if taken: duplicate names must still give unique, stable ids."""
    n, base = 2, uid
    while uid in seen:
        uid, n = f"{base}~{n}", n + 1
    seen.add(uid)
    return uid


def _docs(objects: dict[str, Any], path: str | None) -> list[Any]:
    return list((objects.get(path or "") or {}).get("documents") or [])


def _case_input_errors(
    suite: dict[str, Any],
    test: dict[str, Any],
    case: dict[str, Any],
    template: dict[str, Any] | None,
    objects: dict[str, Any],
) -> list[InputError]:
    errors = _test_input_errors(suite, test, template, objects)
    if not case["object_path"]:
        errors.append(InputError(suite["path"], f"case '{case['name']}' names no object", case["line"]))
    for path in [case["object_path"], *case["inventory_paths"]]:
        entry = objects.get(path or "")
        if entry and entry["error"]:
            errors.append(InputError.from_dict(entry["error"]))
    return errors


def _test_input_errors(
    suite: dict[str, Any], test: dict[str, Any], template: dict[str, Any] | None, objects: dict[str, Any]
) -> list[InputError]:
    """What stops a test's template or constraint from being loaded (every case of the test needs them)."""
    errors: list[InputError] = []
    if not test["template_path"]:
        errors.append(InputError(suite["path"], f"test '{test['name']}' names no template", test["line"]))
    elif template and template["error"]:
        errors.append(InputError.from_dict(template["error"]))
    if not test["constraint_path"]:
        errors.append(InputError(suite["path"], f"test '{test['name']}' names no constraint", test["line"]))
    entry = objects.get(test["constraint_path"] or "")
    if entry and entry["error"]:
        errors.append(InputError.from_dict(entry["error"]))
    return errors


SCOPES = {"rego-test": rego_test_units, "gatekeeper-case": gatekeeper_case_units}


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

"""Policies collector: a directory of Rego and Gatekeeper ``gator verify`` suites.

This module is the collector of the target kind (``kitemark.targets.policies.kind``): ``collect``, and
what the checks may say they read (``REGO_READS``, ``SUITE_READS``); the work is done beside it, in
this package. Collection: ``files`` (walking the directory), ``rego_files`` (Rego files and the
engine), ``gatekeeper_suites`` (suites, templates and objects) and ``gatekeeper_yaml`` (YAML and line
numbers). Units: ``rego_units`` and ``gatekeeper_units`` (with ``units``). What a unit runs:
``rego_tests`` (``RegoTestCase``) and ``kitemark.engines.gatekeeper`` (``GatekeeperCase``,
``spec.match``, assertions), sharing engines through ``kitemark.engines.rego_cache``.

Two scopes:

- ``rego-test``: one unit per ``test_*`` rule body of every ``*_test.rego`` file (``test_*`` rules of
  other files are listed in the inventory but not run). Bodies sharing a name are separate units
  (``#test_x``, ``#test_x#01``...), each evaluated on its own (see ``kitemark.targets.policies.rego_tests``).
  A test is evaluated as ``opa test <location>`` would: every ``.rego`` file under the location is
  loaded into one engine (tests and policies alike); the rule passes when it is defined and
  ``true``, fails when it is ``false``, undefined or any other value, and is an *error* when
  evaluation fails. Test rules are discovered from the engine's parse tree (regorus's AST), not with
  a regex. Rego versions: ``import rego.v1`` means v1; otherwise v1 is tried first and v0 is the
  fallback (see ``kitemark.engines.rego``).
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
  YAML is Kitemark's one dialect (``kitemark.core.yamlfile``): dates stay strings and a key repeated
  in one mapping is an input error at the line of the repeat, never last-one-wins.
  Input errors: a suite that does not parse (or that gator could not decode: ``tests`` or ``cases``
  not a list, a test or case not a mapping) is one unit ``<label>/<relpath>``; a template without a
  ``violation`` rule ("missing required rule: violation", as Gatekeeper refuses it) or otherwise
  broken, or a broken constraint, object or inventory file, is carried by every case or invalid test
  that needs it, or, when none does (all its cases skipped), is a unit ``<label>/<relpath>`` of its
  own. As with gator, what a skipped suite, test or case names is not read.

Hidden files and folders are read, as ``opa test`` and ``gator verify`` read them (not ``.git``, nor
Kitemark's own ``.kitemark-*``). Nothing outside the directory is read (see
``kitemark.core.resources.walk_inputs``): a symlink leading
outside it, dangling or looping, a folder that cannot be listed, and a suite's ``template``,
``constraint``, ``object`` or ``inventory`` that lands outside it (``..``, an absolute path, a symlink)
are input errors, the last named in the suite at its test or case. The text of a Rego file that does not
parse, or of a template's Rego that does not parse or compile, is not kept in the inventory.

A directory with no ``.rego`` file and no suite is a usage error, not an empty (compliant) target.

What is read: the Rego files when a selected check reads ``REGO_READS`` (REGO-TEST-001), the suites and
what their cases name when one reads ``SUITE_READS`` (GK-SUITE-001); everything when no check says, or
one reads something else. A half that is not read is left empty in the inventory (its files are not
parsed, so their errors are not reported: no selected check would assess them).

Inventory payload::

    "engine": {"name": "regorus"},
    "rego_files": [{"path", "source", "package", "package_path", "version": "v0"|"v1", "test_file": bool,
                    "tests": [{"name", "line", "end_line", "span", "name_span"}],  # spans: byte offsets
                    "error": InputError | None}],
    "rego_data": {"files": [relpath], "document": {...}, "errors": [InputError]},  # data.json/data.yaml
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

from pathlib import Path

from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory, TargetSpec
from kitemark.core.resources import walk_inputs
from kitemark.engines.rego import create_engine
from kitemark.targets.policies.gatekeeper_raw import RAW, outcomes_on_raw
from kitemark.targets.policies.gatekeeper_suites import YAML, collect_suites, find_suites
from kitemark.targets.policies.gatekeeper_units import OUTCOMES
from kitemark.targets.policies.rego_data import collect_rego_data
from kitemark.targets.policies.rego_files import (
    collect_rego_file,
    engine_config,
    refused_rego_entry,
    set_aside_compile_errors,
)

KIND = "policies"

# What the checks of this kind read (``@check(reads=...)``): a Rego unit test loads every module of
# its target, as ``opa test`` does; a suite case needs its template, constraint, object and inventory.
REGO_READS = ("*_test.rego", "*.rego", "data.json", "data.yaml")
SUITE_READS = (
    "test.gatekeeper.sh/Suite",
    "templates.gatekeeper.sh/ConstraintTemplate",
    "constraints.gatekeeper.sh/*",
    "objects and inventory named by suite cases",
)


def wanted(reads: frozenset[str]) -> tuple[bool, bool]:
    """(read the Rego files, read the suites) for what the selected checks read."""
    if not reads or not reads <= {*REGO_READS, *SUITE_READS}:
        return True, True
    return bool(reads & set(REGO_READS)), bool(reads & set(SUITE_READS))


def collect(spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
    root = Path(spec.location)
    if not root.exists():
        raise UsageError(f"policies target '{spec.name}': {spec.location} does not exist")
    if not root.is_dir():
        raise UsageError(f"policies target '{spec.name}': {spec.location} is not a directory")
    read_rego, read_suites = wanted(reads)
    # `opa test DIR` loads `.x.rego` and `.lib/` too (its `--ignore` is empty unless given), and
    # `gator verify` reads hidden suites: a hidden test or policy is assessed, never passed over.
    tree = walk_inputs(root, hidden=True)
    rego_paths = tree.files((".rego",))
    refused_rego = tree.refused_for((".rego",))
    # A refused folder may hold both: reported once, with the Rego files when those are read.
    refused_yaml = [r for r in tree.refused_for(YAML) if not (read_rego and r in refused_rego)]
    # Suites are looked for only when a selected check reads them, or to tell an empty target apart.
    suite_files = find_suites(tree, refused_yaml) if read_suites or not rego_paths else []
    engine_cfg = engine_config(spec.options.get("engine"))
    engine = create_engine(**engine_cfg)
    errors: list[InputError] = []
    rego_files = []
    if read_rego:
        rego_files = [collect_rego_file(engine, root, path, errors) for path in rego_paths]
        rego_files += [refused_rego_entry(r, errors) for r in refused_rego]
        rego_files.sort(key=lambda f: f["path"])
    set_aside_compile_errors(engine_cfg, rego_files, errors)
    # data.json/data.yaml, loaded as `opa test` loads them (kitemark.targets.policies.rego_data).
    rego_data = collect_rego_data(tree, errors) if read_rego else {"files": [], "document": {}, "errors": []}
    suites, templates, objects = (
        collect_suites(engine, engine_cfg, root, suite_files, errors) if read_suites else ([], {}, {})
    )
    if not rego_paths and not suite_files and not refused_rego:
        # Nothing to assess would otherwise read as "not applicable" and a compliant run.
        raise UsageError(
            f"policies target '{spec.name}': no .rego files or Gatekeeper suites (kind: Suite) "
            f"found under {spec.location}"
        )
    # Objects as written never reach the inventory: their cases are decided here, on them.
    raw = {path: entry.pop(RAW) for path, entry in objects.items() if RAW in entry}
    inventory = {
        "kind": KIND,
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "errors": [e.to_dict() for e in errors],
        "engine": engine_cfg,
        "rego_files": rego_files,
        "rego_data": rego_data,
        "suites": suites,
        "templates": templates,
        "objects": objects,
    }
    if raw:
        inventory[OUTCOMES] = outcomes_on_raw(inventory, raw)
    return inventory

"""Policies collector: a directory of Rego and Gatekeeper ``gator verify`` suites.

This module is the target kind's entry point (``collect``, ``collect_fixture``, ``SCOPES``,
``evaluate_all``); the work is done beside it, in this package. Collection: ``files`` (walking the
directory), ``rego_files`` (Rego files and the engine), ``gatekeeper_suites`` (suites, templates and
objects) and ``gatekeeper_yaml`` (YAML and line numbers). Units: ``rego_units`` and
``gatekeeper_units`` (with ``units``). What a unit runs: ``rego_tests`` (``RegoTestCase``) and
``kitemark.engines.gatekeeper`` (``GatekeeperCase``, ``spec.match``, assertions), sharing engines
through ``kitemark.engines.rego_cache``.

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

import time
from pathlib import Path
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory, TargetSpec
from kitemark.engines.rego import create_engine
from kitemark.targets.policies.files import target_files
from kitemark.targets.policies.gatekeeper_suites import collect_suites
from kitemark.targets.policies.gatekeeper_units import gatekeeper_case_units
from kitemark.targets.policies.rego_files import collect_rego_file, engine_config, set_aside_compile_errors
from kitemark.targets.policies.rego_units import rego_test_units

KIND = "policies"


def collect(spec: TargetSpec) -> Inventory:
    root = Path(spec.location)
    if not root.exists():
        raise UsageError(f"policies target '{spec.name}': {spec.location} does not exist")
    if not root.is_dir():
        raise UsageError(f"policies target '{spec.name}': {spec.location} is not a directory")
    engine_cfg = engine_config(spec.options.get("engine"))
    engine = create_engine(**engine_cfg)
    errors: list[InputError] = []
    rego_files = [collect_rego_file(engine, root, path, errors) for path in target_files(root, (".rego",))]
    set_aside_compile_errors(engine_cfg, rego_files, errors)
    suites, templates, objects = collect_suites(engine, engine_cfg, root, errors)
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


def collect_fixture(path: Path) -> Inventory:
    """A self-test fixture directory (``fixtures/checks/<CHECK-ID>/<variant>``) as a policies target."""
    return collect(TargetSpec(KIND, f"{path.parent.name}-{path.name}", str(path)))


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

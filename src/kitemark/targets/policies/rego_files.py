"""The Rego files of a policies target and the engine they are evaluated with: ``engine_config``
(``options["engine"]``, default ``DEFAULT_ENGINE``), ``collect_rego_file`` (one ``.rego`` file's
inventory entry: source, package, Rego version and ``test_*`` rules from the engine's parse tree, or
its syntax error, without its text), ``refused_rego_entry`` (one the walk refused, as a broken file)
and ``set_aside_compile_errors`` (files that do not compile with the others are recorded as input errors
and left out). Used by ``kitemark.targets.policies.collect``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kitemark.core import input_limits
from kitemark.core.kinds import InputError
from kitemark.core.resources import Refused
from kitemark.engines.rego import RegoEngine, RegoError, RegoLimitError, create_engine
from kitemark.targets.policies.files import relative_path

DEFAULT_ENGINE = "regorus"


def engine_config(option: Any) -> dict[str, Any]:
    """``options["engine"]``: an engine name, or ``{"name": ..., <engine settings>}`` (e.g. a server URL).
    It travels in the inventory so that every worker evaluates with the same engine."""
    if isinstance(option, dict):
        return {"name": DEFAULT_ENGINE, **option}
    return {"name": str(option or DEFAULT_ENGINE)}


def _rego_input_error(rel: str, kind: str, exc: RegoError) -> InputError:
    col = f" at column {exc.col}" if exc.col else ""
    return InputError(rel, f"Rego {kind} error{col}: {exc.message}", exc.line)


def _entry(rel: str) -> dict[str, Any]:
    return {
        "path": rel,
        "source": "",
        "package": None,
        "package_path": None,
        "version": None,
        "test_file": rel.endswith("_test.rego"),
        "tests": [],
        "error": None,
    }


def refused_rego_entry(refused: Refused, errors: list[InputError]) -> dict[str, Any]:
    """A ``.rego`` file (or a folder that may hold some) the walk did not read, as a broken file: the
    tests of its folder carry its error, or it is a unit of its own."""
    err = InputError(refused.path, refused.reason)
    errors.append(err)
    return {**_entry(refused.path), "error": err.to_dict()}


def collect_rego_file(engine: RegoEngine, root: Path, path: Path, errors: list[InputError]) -> dict[str, Any]:
    rel = relative_path(root, path)
    entry = _entry(rel)
    try:
        entry["source"] = input_limits.read_text(path)
    except (OSError, UnicodeDecodeError, input_limits.LimitExceeded) as exc:
        err = InputError(rel, f"cannot read: {exc}")
        errors.append(err)
        entry["error"] = err.to_dict()
        return entry
    try:
        module = engine.parse(rel, entry["source"])
    except RegoError as exc:
        # Over a limit the file is not known to be wrong, only not assessed: say which limit, not "syntax".
        if isinstance(exc, RegoLimitError):
            err = InputError(rel, f"not assessed: {exc.message}")
        else:
            err = _rego_input_error(rel, "syntax", exc)
        errors.append(err)
        entry["error"] = err.to_dict()
        # Remember the declared package so tests of the same package know they depend on this file.
        declared = re.search(r"^\s*package\s+([\w.]+)", entry["source"], re.MULTILINE)
        entry["package"] = declared[1] if declared else None
        # Text that is not Rego is not kept as evidence: it may be anything (a key pasted by mistake).
        entry["source"] = ""
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


def set_aside_compile_errors(
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

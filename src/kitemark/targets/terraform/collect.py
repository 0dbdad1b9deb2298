"""Terraform collector: a directory of modules parsed with python-hcl2 into a JSON-safe inventory.

A *module* is any directory holding Terraform configuration files; the target location is one module or a
tree of them. Hidden files and folders are not read, as Terraform does not read them, and those holding
configuration are listed in ``skipped`` (see ``files.hidden_inputs``: a hidden folder of modules other than
a tool's cache such as ``.terraform/`` makes the run incomplete); ``.git/`` and Kitemark's own report
folders are passed over. A symlink is followed only when it stays inside the target: one leading outside
it, dangling or looping, and a folder that cannot be listed, is an input error — of the module whose folder
holds it when it is a file, else of a unit of its own listed in ``refused`` (a folder is no part of the
module above it). Each module is one scope unit. A file that does not parse, and a ``module`` block whose
local source (``./``, ``../``) names no folder of ``.tf`` files inside the target, is recorded as an
``InputError`` on its module — every check on that module then reports *error* naming file and line — and
the other modules are checked as usual;
a local source naming a module in a folder that is not read (hidden, or a report folder) is listed in
``skipped``. Only HCL ``*.tf`` files are read: JSON syntax (``*.tf.json``), override files and OpenTofu
files are listed in ``skipped`` (see ``files``) with ``holds_resources`` (the run is incomplete), and the
checks of their module report *error* naming them.

Inventory payload::

    "modules": [                                # the root module first, then by relative path
        {"path": "pay-fines" | "s3-bucket",     # the module path (below)
         "dir": "." | "modules/s3",             # its folder relative to the location (module sources)
         "files": {"main.tf": {<python-hcl2 output with __start_line__/__end_line__>}, ...},
         "errors": [InputError.to_dict(), ...],
         "skipped": [{"path", "line": null, "reason", "holds_resources": true}, ...]},
    ]
    "refused": [{"path": "docs/shared", "errors": [...]}]   # refused inputs of no module: a unit each
    "errors": [...], "skipped": [...]          # every module's and unit's, and the hidden entries listed

Module paths name units (``terraform:<name>/<path>``), prefix resource identities (``<path>/<address>``)
and file locations (``<path>/main.tf:12``). A sub-module's path is its directory relative to the target
location (``modules/s3``). The *root* module — the target location itself, when it holds ``.tf`` files —
is named after the location directory (``pay-fines`` for ``/x/tf/pay-fines``), so a module gets the same
unit id and identities whether its own directory or a tree above it is the target. One exception keeps
that unambiguous: if a sub-module's path is the root's name or lies under it (``/x/tf`` holding both
``main.tf`` and ``tf/main.tf``), the root module is ``.`` instead, a path no sub-module can have (hidden
directories are skipped). A location with no directory name (``/``) also gives ``.``.

The inventory is kept as audit evidence, so secret values are redacted as each file is parsed (see
``redaction``): literal values of credential-like attributes become ``<redacted hmac:…>``, references
such as ``var.db_password`` or ``random_password.db.result`` are kept. Checks read a module through
``view.ModuleView``; ``count``/``for_each``/``dynamic`` are resolved by ``instances``; the scope function
links each module to the modules of the target that call it (``calls``), so a child inherits its
callers' provider configurations.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hcl2
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from kitemark.core import input_limits
from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory, TargetSpec, Unit
from kitemark.core.redaction import redact_text
from kitemark.core.resources import walk_inputs
from kitemark.targets.terraform.calls import link_calls, local_source
from kitemark.targets.terraform.files import (
    discover_modules,
    hidden_inputs,
    local_source_problem,
    refused_inputs,
    relpath,
    unread_reason,
)
from kitemark.targets.terraform.redaction import redact_fed_values, redact_secrets
from kitemark.targets.terraform.view import ModuleView, join

KIND = "terraform"

# Top-level block types the views read; python-hcl2 gives each as a list of blocks.
BLOCK_TYPES = ("resource", "data", "module", "provider", "variable", "locals", "output", "terraform")


# ---------------------------------------------------------------------------------------------- collect


def collect(spec: TargetSpec) -> Inventory:
    root = Path(spec.location)
    if not root.exists():
        raise UsageError(f"terraform target '{spec.name}': {spec.location} does not exist")
    if not root.is_dir():
        raise UsageError(
            f"terraform target '{spec.name}': {spec.location} is a file; pass the module's directory "
            f"({root.parent}) instead"
        )
    tree = walk_inputs(root)
    found = discover_modules(tree)
    hidden = hidden_inputs(tree)
    if not found:
        why = [f"{r.path}: {r.reason}" for r in tree.refused_for((".tf",))[:3]]
        why += [f"{h['path']}: {h['reason']}" for h in hidden if h["holds_resources"]][:3]
        raise UsageError(
            f"terraform target '{spec.name}': no .tf files found under {spec.location}"
            + "".join(f"; {w}" for w in why)
        )
    charged, own = refused_inputs(tree, list(found))
    root_path = root_module_path(root, [*found, *own])
    modules = [_collect_module(root, d, names, root_path, charged.get(d, [])) for d, names in found.items()]
    read = {m["dir"] for m in modules}
    for module in modules:
        errors, unread = _local_calls(root, module, read)
        module["errors"] += errors
        module["skipped"] += unread
    refused = [
        {"path": _path_of(relpath(root, d), root_path), "errors": [e.to_dict() for e in errors]}
        for d, errors in sorted(own.items(), key=lambda item: relpath(root, item[0]))
    ]
    every_error = [e for m in modules for e in m["errors"]] + [e for r in refused for e in r["errors"]]
    return {
        "kind": KIND,
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        # Once each: a module's error may be repeated by its calls.
        "errors": list({json.dumps(e, sort_keys=True): e for e in every_error}.values()),
        "skipped": [s for m in modules for s in m["skipped"]] + hidden,
        "modules": modules,
        "refused": refused,
    }


def _path_of(folder: str, root_path: str) -> str:
    """The path a module in ``folder`` (relative to the target) is named by: see the module docstring."""
    return root_path if folder == "." else folder


def root_module_path(root: Path, module_dirs: list[Path]) -> str:
    """The root module's path: the location directory's own name, or ``.`` when that is empty or a
    sub-module's path equals it or lies under it (see the module docstring)."""
    name = Path(os.path.abspath(root)).name
    subs = [p for p in (relpath(root, d) for d in module_dirs) if p != "."]
    if not name or any(p == name or p.startswith(f"{name}/") for p in subs):
        return "."
    return name


def _collect_module(
    root: Path, module_dir: Path, names: list[str], root_path: str, refused: list[InputError]
) -> dict[str, Any]:
    folder = relpath(root, module_dir)
    module_path = _path_of(folder, root_path)
    files: dict[str, Any] = {}
    errors: list[dict[str, Any]] = [e.to_dict() for e in refused]
    skipped: list[dict[str, Any]] = []
    feeding: set[tuple[str, str]] = set()  # variables and locals a secret is read from
    for path in (module_dir / name for name in sorted(names)):
        # Errors are located where the file is, relative to the target folder (the module's name may
        # be the folder's own name, which is not a path inside it).
        rel = join(folder, path.name)
        if reason := unread_reason(path.name):
            skipped.append({"path": rel, "line": None, "reason": reason, "holds_resources": True})
            continue
        parsed, problem = parse_file(path, rel, feeding)
        if problem is not None:
            errors.append(problem.to_dict())
        else:
            files[path.name] = parsed
    redact_fed_values(files, feeding)
    return {"path": module_path, "dir": folder, "files": files, "errors": errors, "skipped": skipped}


def _local_calls(
    root: Path, module: dict[str, Any], read: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, skipped) for the ``module`` blocks of ``module`` with a local source. One naming no
    module is an input error at the block: Terraform would refuse it, and its resources would otherwise
    go unassessed without a word. One naming a module inside the target that Kitemark does not read (a
    hidden or report folder) lists that folder as holding resources not assessed."""
    errors: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for call in ModuleView(module).module_calls:
        source = call.attrs.get("source")
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            continue  # a registry, git or other remote source: listed as not assessed by the checks
        where = join(module["dir"], call.file)
        if problem := local_source_problem(root, module["dir"], source):
            message = f'{call.address}: source "{source}" names no module: {problem}'
            errors.append(InputError(where, message, call.line).to_dict())
        elif (folder := local_source(module["dir"], source)) is not None and folder not in read:
            reason = (
                f"a module called by {call.address} ({where}:{call.line}) in a hidden or report folder, "
                "which Kitemark does not read: its resources are not assessed"
            )
            skipped.append({"path": folder, "line": None, "reason": reason, "holds_resources": True})
    return errors, skipped


def parse_file(
    path: Path, rel: str, feeding: set[tuple[str, str]] | None = None
) -> tuple[dict[str, Any] | None, InputError | None]:
    """python-hcl2's parse of one file (JSON-safe, secrets redacted), or the reason it could not be
    read. ``feeding`` collects the variables and locals its secrets are read from. Bounded by
    ``kitemark.core.input_limits``: size before reading, nesting before parsing (python-hcl2's transformer
    recurses once per level) and again on the result."""
    try:
        text = input_limits.read_text(path, input_limits.MAX_HCL_MB)
    except input_limits.LimitExceeded as exc:
        return None, InputError(rel, str(exc))
    except UnicodeDecodeError as exc:
        return None, InputError(rel, f"not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        return None, InputError(rel, f"cannot read: {exc.strerror or exc}")
    if (deep := too_deep_line(text)) is not None:
        return None, InputError(rel, str(input_limits.too_deep()), deep)
    try:
        with input_limits.parse_deadline():
            parsed = hcl2.loads(text, with_meta=True)
        input_limits.check_depth(parsed)
    except input_limits.LimitExceeded as exc:
        return None, InputError(rel, str(exc))
    except UnexpectedInput as exc:
        last = max(len(text.splitlines()), 1)
        line = min(max(exc.line, 1), last) if isinstance(exc.line, int) else None
        message = _syntax_message(exc)
        if "end of file" in message and (opened := unclosed_brace_line(text)):
            message, line = f"{message}: the '{{' on line {opened} is never closed", opened
        return None, InputError(rel, message, line)
    except MemoryError:
        return None, InputError(rel, "HCL file too large to parse in memory")
    except Exception as exc:  # python-hcl2's transformer raises assorted errors on odd input
        return None, InputError(rel, redact_text(_parse_error_message(exc)))
    for key in BLOCK_TYPES:
        if key in parsed and not isinstance(parsed[key], list):
            return None, InputError(rel, f"`{key}` is set as an attribute; Terraform expects `{key}` blocks")
    return redact_secrets(_json_safe(parsed), feeding), None


def _parse_error_message(exc: Exception) -> str:
    """One line for an error python-hcl2 raised past the grammar; quoted text (it may be a value) left out."""
    cause = exc.orig_exc if isinstance(exc, VisitError) else exc
    if isinstance(cause, RecursionError):
        return str(input_limits.too_deep())
    if isinstance(cause, input_limits.LimitExceeded):  # the parse deadline, inside a transformer
        return str(cause)
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    first = _QUOTED.sub("…", first)
    if isinstance(exc, VisitError):
        return f"HCL parse error ({exc.rule}): {first}"
    return f"HCL parse error: {first}"


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

# What may nest in HCL, skipping the text of strings and comments (a heredoc's text is counted: it may
# hold JSON, which is balanced).
_NESTING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|//[^\n]*|/\*.*?\*/|[\[\]{}()]', re.S)


def too_deep_line(text: str) -> int | None:
    """The line where brackets, braces or parentheses first nest past MAX_DEPTH, found by a scan of the
    text, so that 100,000 nested brackets are refused before the parser spends seconds on them."""
    depth = 0
    for match in _NESTING.finditer(text):
        token = match.group()
        if token in "[{(":
            depth += 1
            if depth > input_limits.MAX_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]})":
            depth = max(depth - 1, 0)
    return None


def _syntax_message(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = getattr(exc, "expected", None) or ()
        hint = " (missing '}')" if "RBRACE" in expected else ""
        return f"HCL syntax error: unexpected end of file{hint}"
    if isinstance(exc, UnexpectedToken):
        # The token's kind, never its text: the text of a broken line may be a secret.
        return f"HCL syntax error at column {exc.column}: unexpected {exc.token.type}"
    if isinstance(exc, UnexpectedCharacters):
        return f"HCL syntax error at column {exc.column}: unexpected character {exc.char!r}"
    return "HCL syntax error"


def unclosed_brace_line(text: str) -> int | None:
    """The line of the outermost ``{`` left open at end of file (strings, comments, heredocs skipped)."""
    stack: list[int] = []
    line, i, n = 1, 0, len(text)
    quote = False
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif ch == "#" or text.startswith("//", i):
            i = text.find("\n", i) - 1 if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            end = text.find("*/", i)
            end = n if end < 0 else end + 1
            line += text.count("\n", i, end)
            i = end
        elif heredoc := _HEREDOC.match(text, i):
            closing = re.compile(rf"^\s*{re.escape(heredoc.group(1))}\s*$", re.M).search(text, heredoc.end())
            stop = closing.end() if closing else n
            line += text.count("\n", i, stop)
            i = stop - 1
        elif ch == "{":
            stack.append(line)
        elif ch == "}" and stack:
            stack.pop()
        i += 1
    return stack[0] if stack else None


_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\n")


def _json_safe(value: Any) -> Any:
    """python-hcl2 gives plain values already; make sure (keys as strings, no tuples, finite numbers)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)  # beyond what JSON readers (and orjson's writer) keep exactly
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------- scopes


def module_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """One unit per module, each view linked to the modules of the target that call it."""
    target = inventory["target"]
    modules = inventory.get("modules", [])
    views = [ModuleView(module, target) for module in modules]
    link_calls(views)
    units = [
        Unit(
            id=f"{target}/{module['path']}".replace("::", ":"),
            target=target,
            data=view,
            errors=[InputError.from_dict(e) for e in module.get("errors", [])] + _unread(module),
        )
        for module, view in zip(modules, views, strict=True)
    ]
    return units + [_refused_unit(target, entry) for entry in inventory.get("refused") or ()]


def _refused_unit(target: str, entry: dict[str, Any]) -> Unit:
    """A unit for an input refused outside every module (a folder, or a file in a folder of no module):
    every check on it reports its errors, and no module's result carries them."""
    empty = {"path": entry["path"], "dir": entry["path"], "files": {}, "errors": [], "skipped": []}
    return Unit(
        id=f"{target}/{entry['path']}".replace("::", ":"),
        target=target,
        data=ModuleView(empty, target),
        errors=[InputError.from_dict(e) for e in entry["errors"]],
    )


def _unread(module: dict[str, Any]) -> list[InputError]:
    """A module's unread files (listed in ``skipped``) as input errors of its unit: a check judges the whole
    module, and a file it did not read may hold the block a verdict rests on (a bucket's encryption, the
    provider's ``default_tags``, ``required_version``), so a verdict on the rest could be wrong either way."""
    return [
        InputError(s["path"], f"{s['reason']}; this module's checks need every file of it", s["line"])
        for s in module.get("skipped") or []
    ]

"""Terraform collector: a directory of modules parsed with python-hcl2 into a JSON-safe inventory.

A *module* is any directory holding ``*.tf`` files; the target location is one module or a tree of them
(hidden directories such as ``.terraform/`` and ``.git/`` are skipped, symlinked directories are not
followed). Each module is one scope unit. A file that does not parse is recorded as an ``InputError``
on its module — every check on that module then reports *error* naming file and line — and the other
modules are checked as usual.

Inventory payload::

    "modules": [                                # sorted by path
        {"path": "s3-bucket" | ".",             # relative to the target location
         "files": {"main.tf": {<python-hcl2 output with __start_line__/__end_line__>}, ...},
         "errors": [InputError.to_dict(), ...]},
    ]
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import hcl2
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kitemark.errors import UsageError
from kitemark.targets import InputError, Inventory, TargetSpec, Unit
from kitemark.targets.hcl_values import Evaluator, strip_meta

KIND = "terraform"
# Providers built into Terraform itself: never listed in required_providers.
BUILTIN_PROVIDERS = frozenset({"terraform"})


# ---------------------------------------------------------------------------------------------- collect


def collect(spec: TargetSpec) -> Inventory:
    root = Path(spec.location)
    if not root.exists():
        raise UsageError(f"terraform target '{spec.name}': {spec.location} does not exist")
    if not root.is_dir():
        raise UsageError(f"terraform target '{spec.name}': {spec.location} is not a directory")
    module_dirs = discover_modules(root)
    if not module_dirs:
        raise UsageError(f"terraform target '{spec.name}': no .tf files found under {spec.location}")
    modules = [_collect_module(root, d) for d in module_dirs]
    return {
        "kind": KIND,
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "errors": [e for m in modules for e in m["errors"]],
        "modules": modules,
    }


def collect_fixture(path: Path) -> Inventory:
    """A self-test fixture directory (``fixtures/checks/<CHECK-ID>/<variant>``) as a terraform target."""
    return collect(TargetSpec(KIND, f"{path.parent.name}-{path.name}", str(path)))


def discover_modules(root: Path) -> list[Path]:
    """Every directory under ``root`` (itself included) holding a ``.tf`` file, sorted by relative path."""
    found: list[Path] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if any(_is_tf_file(Path(current) / f) for f in files):
            found.append(Path(current))
    return sorted(found, key=lambda p: _relpath(root, p))


def _is_tf_file(path: Path) -> bool:
    # Terraform itself ignores hidden files and editor backups (`.#x.tf`, `x.tf~`).
    return path.name.endswith(".tf") and not path.name.startswith((".", "#")) and path.is_file()


def _relpath(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _collect_module(root: Path, module_dir: Path) -> dict[str, Any]:
    files: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for path in sorted(p for p in module_dir.iterdir() if _is_tf_file(p)):
        rel = path.relative_to(root).as_posix()
        parsed, problem = parse_file(path, rel)
        if problem is not None:
            errors.append(problem.to_dict())
        else:
            files[path.name] = parsed
    return {"path": _relpath(root, module_dir), "files": files, "errors": errors}


def parse_file(path: Path, rel: str) -> tuple[dict[str, Any] | None, InputError | None]:
    """python-hcl2's parse of one file (JSON-safe), or the reason it could not be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, InputError(rel, f"not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        return None, InputError(rel, f"cannot read: {exc.strerror or exc}")
    try:
        parsed = hcl2.loads(text, with_meta=True)
    except UnexpectedInput as exc:
        last = max(len(text.splitlines()), 1)
        line = min(max(exc.line, 1), last) if isinstance(exc.line, int) else None
        message = _syntax_message(exc)
        if "end of file" in message and (opened := unclosed_brace_line(text)):
            message, line = f"{message}: the '{{' on line {opened} is never closed", opened
        return None, InputError(rel, message, line)
    except Exception as exc:  # python-hcl2's transformer raises assorted errors on odd input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, InputError(rel, f"HCL parse error: {first}")
    return _json_safe(parsed), None


def _syntax_message(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = getattr(exc, "expected", None) or ()
        hint = " (missing '}')" if "RBRACE" in expected else ""
        return f"HCL syntax error: unexpected end of file{hint}"
    if isinstance(exc, UnexpectedToken):
        token = str(exc.token).splitlines()[0][:20] if str(exc.token).strip() else exc.token.type
        return f"HCL syntax error at column {exc.column}: unexpected {token!r}"
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
            end = re.compile(rf"^\s*{re.escape(heredoc.group(1))}\s*$", re.M).search(text, heredoc.end())
            stop = end.end() if end else n
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
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------- view


@dataclass(frozen=True)
class Block:
    """A labelled block of a module: ``resource``/``data`` (type + name), ``provider``, ``module``..."""

    kind: str
    type: str
    name: str
    file: str
    line: int | None
    body: dict[str, Any]
    module_path: str

    @property
    def attrs(self) -> dict[str, Any]:
        return strip_meta(self.body)

    @property
    def address(self) -> str:
        """``aws_s3_bucket.logs`` / ``data.aws_iam_policy_document.x`` / ``module.rds``."""
        if self.kind == "resource":
            return f"{self.type}.{self.name}"
        if self.kind == "data":
            return f"data.{self.type}.{self.name}"
        return f"{self.kind}.{self.name}"

    @property
    def identity(self) -> str:
        """Stable finding identity: module path + address (never a line number)."""
        return join(self.module_path, self.address)

    @property
    def location(self) -> str:
        where = join(self.module_path, self.file)
        return f"{where}:{self.line}" if self.line else where

    @property
    def provider(self) -> tuple[str, str | None]:
        """(local provider name, alias) this resource or data source is managed by."""
        ref = self.body.get("provider")
        if isinstance(ref, str):
            text = ref[2:-1] if ref.startswith("${") and ref.endswith("}") else ref
            name, _, alias = text.partition(".")
            return name, alias or None
        return self.type.split("_", 1)[0], None


def join(module_path: str, item: str) -> str:
    """``modules/s3`` + ``main.tf`` -> ``modules/s3/main.tf``; the root module adds no prefix."""
    return item if module_path in ("", ".") else f"{module_path}/{item}"


class ModuleView:
    """What checks read: one module's blocks, built on demand from the inventory's JSON form."""

    def __init__(self, module: dict[str, Any], target: str = "") -> None:
        self.path: str = module["path"]
        self.files: dict[str, Any] = module["files"]
        self.target = target

    def __repr__(self) -> str:
        return f"ModuleView({self.target}/{self.path})"

    def _blocks(self, kind: str, labels: int) -> list[Block]:
        out: list[Block] = []
        for filename, parsed in sorted(self.files.items()):
            for entry in parsed.get(kind, []) or []:
                out.extend(self._unpack(kind, filename, entry, labels))
        return out

    def _unpack(self, kind: str, filename: str, entry: Any, labels: int) -> list[Block]:
        """python-hcl2 nests a block's labels as dict keys: ``{type: {name: body}}``."""
        if not isinstance(entry, dict):
            return []
        if labels == 0:
            return [self._block(kind, "", "", filename, entry)]
        out: list[Block] = []
        for first, inner in strip_meta(entry).items():
            if labels == 1:
                out.append(self._block(kind, "", first, filename, inner))
            elif isinstance(inner, dict):
                out.extend(self._block(kind, first, n, filename, b) for n, b in strip_meta(inner).items())
        return out

    def _block(self, kind: str, type_: str, name: str, filename: str, body: Any) -> Block:
        body = body if isinstance(body, dict) else {}
        return Block(kind, type_, name, filename, body.get("__start_line__"), body, self.path)

    @cached_property
    def resources(self) -> list[Block]:
        return self._blocks("resource", 2)

    @cached_property
    def data_sources(self) -> list[Block]:
        return self._blocks("data", 2)

    @cached_property
    def providers(self) -> list[Block]:
        """``provider "aws" {...}`` configurations (``name`` is the provider's local name)."""
        return self._blocks("provider", 1)

    @cached_property
    def terraform_blocks(self) -> list[Block]:
        return self._blocks("terraform", 0)

    @cached_property
    def module_calls(self) -> list[Block]:
        return self._blocks("module", 1)

    @cached_property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {b.name: b.body for b in self._blocks("variable", 1)}

    @cached_property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self._blocks("locals", 0):
            merged.update(block.attrs)
        return merged

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(self.variables, self.locals)

    @cached_property
    def resources_by_type(self) -> dict[str, list[Block]]:
        grouped: dict[str, list[Block]] = {}
        for resource in self.resources:
            grouped.setdefault(resource.type, []).append(resource)
        return grouped

    def resources_of(self, *types: str) -> list[Block]:
        return [r for r in self.resources if r.type in types]

    def provider_config(self, name: str, alias: str | None) -> Block | None:
        for block in self.providers:
            block_alias = block.attrs.get("alias")
            if block.name == name and (block_alias or None) == alias:
                return block
        return None

    def location(self, file: str, line: int | None = None) -> str:
        where = join(self.path, file)
        return f"{where}:{line}" if line else where


# ---------------------------------------------------------------------------------------------- scopes


def module_units(inventory: Inventory) -> list[Unit]:
    target = inventory["target"]
    return [
        Unit(
            id=f"{target}/{module['path']}".replace("::", ":"),
            target=target,
            data=ModuleView(module, target),
            errors=[InputError.from_dict(e) for e in module.get("errors", [])],
        )
        for module in inventory.get("modules", [])
    ]


SCOPES = {"module": module_units}

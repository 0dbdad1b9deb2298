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

The inventory is kept as audit evidence, so secret values are redacted as each file is parsed (see
``redact_secrets``): literal values of credential-like attributes become ``"<redacted>"`` while
references such as ``var.db_password`` or ``random_password.db.result`` are kept.
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
from kitemark.model import Finding, Status
from kitemark.targets import InputError, Inventory, TargetSpec, Unit
from kitemark.targets.hcl_values import (
    META_KEYS,
    Evaluator,
    PartialMap,
    Unknown,
    expression_text,
    strip_meta,
)

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
    return redact_secrets(_json_safe(parsed)), None


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
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------- redact

REDACTED = "<redacted>"

# Attribute and map-key names whose values are credentials. A name matches when, lower-cased with `-` and
# camelCase humps read as `_` and a write-only `_wo` suffix dropped, it is one of CREDENTIAL_NAMES or ends
# with one of CREDENTIAL_SUFFIXES: `password`, `master_password`, `auth_token`, `DB_PASSWORD`, `apiKey`,
# `client_secret`, `password_wo`. Deliberately not `*_key` (kms_key_id, s3 object keys) nor `*_id`/`*_arn`
# (`secret_id`, `secret_arn` name a secret, they do not hold it). Booleans and null are never secrets, so
# `manage_master_user_password = true` and `generate_secret = true` stay as they are.
CREDENTIAL_NAMES = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secret_key",
        "secret_access_key",
        "access_key",
        "access_key_id",
        "token",
        "session_token",
        "auth_token",
        "private_key",
        "private_key_pem",
        "client_secret",
        "api_key",
        "apikey",
        "secret_string",
        "secret_binary",
        "credentials",
        "authorization",
        "plaintext",
    }
)
CREDENTIAL_SUFFIXES = (
    "_password",
    "_passwd",
    "_passphrase",
    "_secret",
    "_secret_key",
    "_token",
    "_private_key",
    "_api_key",
    "_apikey",
    "_access_key",
)
# Resource types whose `value` argument is the secret itself (an SSM parameter unless it is known to be a
# plain String/StringList, an API Gateway key).
_SECRET_VALUE_TYPES = frozenset({"aws_ssm_parameter", "aws_api_gateway_api_key"})
_PLAIN_SSM_TYPES = frozenset({"String", "StringList"})

# Labels python-hcl2 nests as dict keys above a block's body, by top-level block kind; label keys are names
# chosen by the author (`resource "aws_secretsmanager_secret" "db_password"`), never attributes.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1, "check": 1}

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Secrets written inside a longer string: a JSON heredoc or jsonencode() (`"password": "x"`,
# `{ name = "DB_PASSWORD", value = "x" }`) or the password of a URL (`postgres://app:x@db:5432/app`).
_HINT = re.compile(r"pass|secret|token|key|credential|authori|plaintext|://", re.IGNORECASE)
_QUOTED = r"""(?P<{q}>["'])(?P<{v}>(?:\\.|(?!(?P={q}))[^\\])*)(?P={q})"""
_KEY_VALUE = re.compile(
    r"""(?<![\w-])(?P<kq>["']?)(?P<key>[A-Za-z_][\w-]*)(?P=kq)\s*(?:=(?!=)|:)\s*"""
    + _QUOTED.format(q="q", v="val")
)
_NAME_THEN_VALUE = re.compile(
    r"""(?<![\w-])(?P<nq>["']?)(?:name|key)(?P=nq)\s*[:=]\s*"""
    + _QUOTED.format(q="q1", v="name")
    + r"""\s*,?\s*(?P<vq>["']?)value(?P=vq)\s*[:=]\s*"""
    + _QUOTED.format(q="q2", v="val")
)
_VALUE_THEN_NAME = re.compile(
    r"""(?<![\w-])(?P<vq>["']?)value(?P=vq)\s*[:=]\s*"""
    + _QUOTED.format(q="q2", v="val")
    + r"""\s*,?\s*(?P<nq>["']?)(?:name|key)(?P=nq)\s*[:=]\s*"""
    + _QUOTED.format(q="q1", v="name")
)
_URL_PASSWORD = re.compile(r"""(?P<pre>[A-Za-z][\w+.-]*://[^\s/:@"'<>]+:)(?P<val>[^\s/@"'<>]+)(?=@)""")


def is_credential_name(name: str) -> bool:
    """Does an attribute or key of this name hold a credential (see CREDENTIAL_NAMES)?"""
    normal = _CAMEL_HUMP.sub("_", name.strip("\"' ")).lower().replace("-", "_").removesuffix("_wo")
    return normal in CREDENTIAL_NAMES or normal.endswith(CREDENTIAL_SUFFIXES)


def redact_secrets(parsed: dict[str, Any]) -> dict[str, Any]:
    """Replace, in one file's python-hcl2 parse (in place), every literal secret value with ``<redacted>``:

    - the literal values of credential-like attributes and map keys (``is_credential_name``) anywhere,
      including inside ``jsonencode(...)``, JSON heredocs, ``{name = "X_PASSWORD", value = ...}`` pairs and
      the password of a URL;
    - the ``default`` of a ``sensitive`` variable (or one with a credential-like name), the ``value`` of a
      ``sensitive`` output, and the ``value`` of an SSM SecureString parameter or API Gateway key.

    References and expressions survive: ``"${var.db_password}"`` is kept as it is, and in an expression only
    its quoted string literals and the template text around ``${...}`` are replaced
    (``coalesce(var.p, "x")`` becomes ``coalesce(var.p, "<redacted>")``). Numbers inside an expression are
    not treated as secrets.
    """
    for kind, entries in parsed.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            for labels, body in _labelled_bodies(entry, _LABELS.get(kind, 0)):
                _redact_block(kind, labels, body)
    return parsed


Labelled = list[tuple[tuple[str, ...], Any]]


def _labelled_bodies(entry: Any, depth: int, labels: tuple[str, ...] = ()) -> Labelled:
    """The bodies below ``depth`` levels of label keys, each with its labels."""
    if depth == 0 or not isinstance(entry, dict):
        return [(labels, entry)]
    return [
        pair
        for key, inner in entry.items()
        if key not in META_KEYS
        for pair in _labelled_bodies(inner, depth - 1, (*labels, key))
    ]


def _redact_block(kind: str, labels: tuple[str, ...], body: Any) -> None:
    if not isinstance(body, dict):
        return
    secret_name = bool(labels) and is_credential_name(labels[-1])
    if kind == "variable" and "default" in body and (_truthy(body.get("sensitive")) or secret_name):
        body["default"] = _redact_all(body["default"])
    if kind == "output" and "value" in body and (_truthy(body.get("sensitive")) or secret_name):
        body["value"] = _mask_literals(body["value"])
    if kind == "resource" and labels and labels[0] in _SECRET_VALUE_TYPES and "value" in body:
        plain = labels[0] == "aws_ssm_parameter" and body.get("type") in _PLAIN_SSM_TYPES
        if not plain:
            body["value"] = _mask_literals(body["value"])
    _walk(body)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _walk(node: Any) -> Any:
    """Redact under credential-like keys, and secrets embedded in strings, everywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in META_KEYS:
                continue
            node[key] = _mask_literals(value) if is_credential_name(key) else _walk(value)
        _redact_pair(node)
        return node
    if isinstance(node, list):
        return [_walk(v) for v in node]
    if isinstance(node, str):
        return _redact_embedded(node)
    return node


def _redact_pair(node: dict[str, Any]) -> None:
    """``{name = "DB_PASSWORD", value = "x"}`` (container env, Beanstalk settings, HTTP headers marked
    ``is_value_secret``): the value is a secret although its key is called ``value``."""
    if "value" not in node:
        return
    named = any(isinstance(node.get(k), str) and is_credential_name(node[k]) for k in ("name", "key"))
    if named or _truthy(node.get("is_value_secret")):
        node["value"] = _mask_literals(node["value"])


def _mask_literals(value: Any) -> Any:
    """A credential's value with every literal replaced and references kept (bool/null kept as well)."""
    if isinstance(value, dict):
        return {k: v if k in META_KEYS else _mask_literals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_literals(v) for v in value]
    if isinstance(value, str):
        return mask_template(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED
    return value


def _redact_all(value: Any) -> Any:
    """A sensitive variable's default: a literal throughout (Terraform allows no references there)."""
    if isinstance(value, dict):
        return {k: v if k in META_KEYS else _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, str) and value:
        return REDACTED
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED
    return value


def mask_template(text: str) -> str:
    """``text`` with its literal parts replaced: a plain literal becomes ``<redacted>``; in a template the
    text around ``${...}`` and the quoted strings inside it are replaced, so ``"${var.x}"`` is unchanged.
    Empty and whitespace-only text is kept; anything this cannot read (``%{`` directives, heredocs inside
    an expression, unbalanced braces) is replaced whole."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            chunk = "".join(literal)
            out.append(chunk if not chunk.strip() or chunk == REDACTED else REDACTED)
            literal.clear()

    i, n = 0, len(text)
    while i < n:
        if text.startswith(("$${", "%%{"), i):
            literal.append(text[i : i + 3])
            i += 3
        elif text.startswith("%{", i):
            return REDACTED
        elif text.startswith("${", i):
            end = _expression_end(text, i + 2)
            inner = None if end is None else _mask_expression(text[i + 2 : end])
            if end is None or inner is None:
                return REDACTED
            flush()
            out.append("${" + inner + "}")
            i = end + 1
        else:
            literal.append(text[i])
            i += 1
    flush()
    return "".join(out)


def _mask_expression(expr: str) -> str | None:
    """An expression with the contents of its quoted strings masked; None if it cannot be read. A string
    used as an index (``data.x["name"].value``) is part of a reference and is kept."""
    if "<<" in expr:  # a heredoc inside an expression: not worth reading
        return None
    out: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'":
            end = _string_end(expr, i)
            if end is None:
                return None
            content = expr[i + 1 : end]
            index = expr[:i].rstrip().endswith("[") and expr[end + 1 :].lstrip().startswith("]")
            out.append(ch + (content if index else mask_template(content)) + ch)
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int | None:
    """Index of the quote closing the string opened at ``start`` (escapes and nested ``${}`` skipped)."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i
        elif text.startswith("${", i):
            end = _expression_end(text, i + 2)
            if end is None:
                return None
            i = end + 1
        else:
            i += 1
    return None


def _expression_end(text: str, start: int) -> int | None:
    """Index of the ``}`` closing an interpolation whose expression starts at ``start``."""
    depth, i = 1, start
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = _string_end(text, i)
            if end is None:
                return None
            i = end + 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _redact_embedded(text: str) -> str:
    """Secrets written inside a longer string (JSON, jsonencode, a URL); other text is left alone."""
    if not _HINT.search(text):
        return text

    def key_value(m: re.Match[str]) -> str:
        if not is_credential_name(m["key"]):
            return m[0]
        return _replace_group(m, "val")

    def pair(m: re.Match[str]) -> str:
        return _replace_group(m, "val") if is_credential_name(m["name"]) else m[0]

    text = _KEY_VALUE.sub(key_value, text)
    text = _NAME_THEN_VALUE.sub(pair, text)
    text = _VALUE_THEN_NAME.sub(pair, text)
    return _URL_PASSWORD.sub(lambda m: _replace_group(m, "val"), text)


def _replace_group(m: re.Match[str], group: str) -> str:
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    whole = m[0]
    return whole[:start] + mask_template(m[group]) + whole[end:]


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


@dataclass(frozen=True)
class Creation:
    """Whether a block's instances exist: ``state`` is ``single`` (no count/for_each), ``some``, ``none``
    or ``unknown``; ``meta`` is the ``count = ...`` / ``for_each = ...`` text it was decided from."""

    state: str
    meta: str | None = None
    reason: str | None = None

    @property
    def created(self) -> bool | None:
        return None if self.state == "unknown" else self.state != "none"


def meta_argument(block: Block) -> tuple[str, Any] | None:
    """The block's ``count`` or ``for_each`` as (name, raw value), if it has one."""
    for name in ("count", "for_each"):
        if name in block.attrs:
            return name, block.attrs[name]
    return None


def creation(block: Block, evaluator: Evaluator) -> Creation:
    """Are any instances of ``block`` created, with the module's variable defaults?"""
    meta = meta_argument(block)
    if meta is None:
        return Creation("single")
    name, raw = meta
    text = f"{name} = {expression_text(raw)}"
    size = collection_size(evaluator.value(raw), counted=name == "count")
    if isinstance(size, Unknown):
        return Creation("unknown", text, size.reason)
    return Creation("some" if size else "none", text)


def collection_size(value: Any, *, counted: bool) -> int | Unknown:
    """How many instances a ``count`` (a number) or ``for_each`` (a map or set) value makes. A partly known
    map makes at least as many as the keys we can see."""
    if isinstance(value, Unknown):
        return value
    if counted:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return Unknown(f"count is not a number: {value!r}")
        try:
            return int(float(value))
        except ValueError:
            return Unknown(f"count is not a number: {value!r}")
    if isinstance(value, PartialMap):
        return len(value.known) or Unknown("; ".join(value.unresolved))
    if isinstance(value, dict | list):
        return len(value)
    return Unknown(f"for_each is not a map or set: {value!r}")


@dataclass(frozen=True)
class NestedBlock:
    """One nested block of a body as written or generated by ``dynamic "<name>"``. ``evaluator`` knows the
    dynamic block's iterator; ``unresolved`` says why its ``for_each`` could not be enumerated (then the
    block may or may not exist, and the iterator's values are unknown)."""

    body: dict[str, Any]
    evaluator: Evaluator
    source: str
    unresolved: str | None = None


def nested_blocks(evaluator: Evaluator, body: dict[str, Any], name: str) -> list[NestedBlock]:
    """The ``name`` blocks of ``body``: literal ones, then those ``dynamic "name"`` generates."""
    out: list[NestedBlock] = [
        NestedBlock(strip_meta(b), evaluator, f"{name} block")
        for b in body.get(name) or []
        if isinstance(b, dict)
    ]
    for entry in body.get("dynamic") or []:
        spec = entry.get(name) if isinstance(entry, dict) else None
        if isinstance(spec, dict):
            out.extend(_dynamic_instances(evaluator, name, spec))
    return out


def _dynamic_instances(evaluator: Evaluator, name: str, spec: dict[str, Any]) -> list[NestedBlock]:
    contents = [strip_meta(c) for c in spec.get("content") or [] if isinstance(c, dict)]
    if not contents:
        return []
    content = contents[0]
    iterator = spec.get("iterator")
    iterator = expression_text(iterator) if isinstance(iterator, str) else name
    iterator = iterator.strip('"')
    raw = spec.get("for_each")
    source = f'dynamic "{name}" (for_each = {expression_text(raw)})'
    value = evaluator.value(raw)
    items: list[tuple[Any, Any]] = []
    unresolved: str | None = None
    if isinstance(value, PartialMap):
        items = list(value.known.items())
        unresolved = "; ".join(value.unresolved)
    elif isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        # A list iterates with index keys, a set with key = value; python-hcl2 gives both as lists.
        items = [
            (Unknown(f"`{iterator}.key` over a list or set is not evaluated statically"), v) for v in value
        ]
    elif isinstance(value, Unknown):
        unresolved = value.reason
    else:
        unresolved = f"for_each is not a map or set: {value!r}"
    out = [
        NestedBlock(content, evaluator.bind({iterator: {"key": key, "value": item}}), source)
        for key, item in items
    ]
    if unresolved is not None:
        reason = f"{source}: {unresolved}"
        unknown = Unknown(reason)
        out.append(NestedBlock(content, evaluator.bind({iterator: unknown}), source, reason))
    return out


def module_calls_note(module: ModuleView) -> tuple[str, list[dict[str, str]]]:
    """For a *not applicable* finding: the module calls whose resources this module's checks do not see,
    as a message suffix ("" when there are none) and as evidence."""
    calls = [
        {"module": call.address, "source": _source_text(call.attrs.get("source"))}
        for call in module.module_calls
    ]
    if not calls:
        return "", []
    listed = "; ".join(f"{c['module']}, source {c['source']}" for c in calls)
    plural = "s" if len(calls) > 1 else ""
    that = "those modules" if plural else "that module"
    note = f"; {len(calls)} module call{plural} ({listed}) not assessed — run Kitemark on {that}"
    return note, calls


def nothing_here(module: ModuleView, reason: str) -> Finding:
    """A *not applicable* finding for ``module`` that names the module calls it leaves unassessed."""
    note, calls = module_calls_note(module)
    return Finding(
        Status.NOT_APPLICABLE, module.path, reason + note, {"module_calls": calls} if calls else None
    )


def _source_text(raw: Any) -> str:
    return expression_text(raw).strip('"') if isinstance(raw, str) else "(none)"


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

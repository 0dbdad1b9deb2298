"""Cluster target: a Kubernetes cluster read from a snapshot directory.

Three stages, kept apart so a live reader (``live:CONTEXT``) can replace the first one:

1. *read files* (``read_snapshot``): every ``.yaml``/``.yml``/``.json`` file under the directory →
   raw documents, each tagged with its file and line; an unparsable file becomes an ``InputError``.
2. *objects → inventory* (``objects_from_documents``, ``build_inventory``): flatten ``List`` kinds,
   validate, redact secrets, de-duplicate, sort. A live reader feeds its raw API lists in here.
3. *scopes* (``SCOPES``): the inventory's JSON form → units whose data are views (``cluster_views``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory, TargetSpec, Unit
from kitemark.targets.cluster.view import ClusterView, KObject, NamespaceView, Platform

SUFFIXES = (".yaml", ".yml", ".json")
REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader without the timestamp resolver: Kubernetes times are strings (as in JSON), and an
    impossible date (`2020-13-45`) must not crash the parser."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    """One parsed document (or ``List`` item) and where it came from, for error messages."""

    path: str  # relative to the snapshot directory, POSIX separators
    index: int  # 1-based document number within the file
    line: int | None
    data: Any
    item: int | None = None  # 1-based item number within a List document
    item_lines: tuple[int, ...] = ()  # line of each `items` entry (YAML only)

    @property
    def where(self) -> str:
        return f"document {self.index}" + (f", item {self.item}" if self.item else "")

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


# --- 1. read files ---------------------------------------------------------------------------------


class _Unreadable(Exception):
    """Carries a file's InputError out of a parser (InputError itself is not an exception)."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


def snapshot_files(root: Path) -> list[Path]:
    """Snapshot files under ``root`` in a stable order, skipping hidden files and directories."""
    if root.is_file():
        return [root]
    return sorted(
        (
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def read_snapshot(root: Path) -> tuple[list[str], list[Document], list[InputError]]:
    """Parse every snapshot file: (relative paths, documents, errors). A file that fails to parse
    contributes no document at all (a half-read file is not evidence) and one error."""
    files: list[str] = []
    documents: list[Document] = []
    errors: list[InputError] = []
    for path in snapshot_files(root):
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        files.append(rel)
        try:
            text = path.read_text(encoding="utf-8")
            parse = _parse_json if path.suffix.lower() == ".json" else _parse_yaml
            parsed = list(parse(rel, text))
        except _Unreadable as exc:
            errors.append(exc.error)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(InputError(rel, f"cannot read file: {_one_line(str(exc))}"))
            continue
        documents.extend(parsed)
    return files, documents, errors


def _parse_yaml(rel: str, text: str) -> Iterator[Document]:
    loader = _Loader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            index += 1
            data = _jsonable(loader.construct_document(node))
            yield Document(rel, index, node.start_mark.line + 1, data, item_lines=_item_lines(node))
    except yaml.YAMLError as exc:
        raise _Unreadable(_yaml_error(rel, exc)) from None
    except (ValueError, TypeError) as exc:
        # A scalar PyYAML cannot construct (`creationTimestamp: 2020-13-45`) raises a plain ValueError.
        raise _Unreadable(InputError(rel, f"invalid YAML value: {_one_line(str(exc))}")) from None
    finally:
        loader.dispose()


def _item_lines(node: yaml.Node) -> tuple[int, ...]:
    """Lines of a List document's `items` entries, so an invalid item is reported where it is."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "items" and isinstance(value, yaml.SequenceNode):
                return tuple(item.start_mark.line + 1 for item in value.value)
    return ()


def _yaml_error(rel: str, exc: yaml.YAMLError) -> InputError:
    # Built from `problem`/`context` only: str(exc) quotes the offending line, which may hold a secret.
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        text = "; ".join(part for part in (exc.context, exc.problem) if part) or type(exc).__name__
        return InputError(rel, f"invalid YAML: {_one_line(text)}", mark.line + 1 if mark else None)
    return InputError(rel, f"invalid YAML: {type(exc).__name__}")


def _parse_json(rel: str, text: str) -> Iterator[Document]:
    try:
        data = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise _Unreadable(InputError(rel, f"invalid JSON: {exc.msg}", exc.lineno)) from None
    if data is not None:
        # json carries no positions below the document; a single object starts at line 1 anyway.
        yield Document(rel, 1, 1 if isinstance(data, dict) and "items" not in data else None, data)


def _jsonable(value: Any) -> Any:
    """YAML yields datetimes, bytes and non-string keys that JSON (the inventory's form) cannot hold."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- 2. objects → inventory ------------------------------------------------------------------------


def objects_from_documents(
    documents: Iterable[Document],
) -> tuple[list[dict[str, Any]], list[str], list[InputError], list[dict[str, str]]]:
    """Flatten lists, validate, redact and de-duplicate: (objects, their sources, errors, duplicates).

    Objects are sorted by (namespace, kind, name, apiVersion); of two copies of the same object the
    one from the earlier file is kept and the other listed in ``duplicates``."""
    kept: dict[tuple[str, str, str, str], tuple[dict[str, Any], str]] = {}
    errors: list[InputError] = []
    duplicates: list[dict[str, str]] = []
    for doc in _flatten(documents, errors):
        problem = _invalid(doc.data)
        if problem:
            errors.append(InputError(doc.path, f"{doc.where}: {problem}", doc.line))
            continue
        obj = redact(doc.data)
        meta = obj["metadata"]
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        key = (str(meta.get("namespace") or ""), obj["kind"], meta["name"], group)
        if key in kept:
            duplicates.append({"object": KObject(obj).ref, "kept": kept[key][1], "ignored": doc.source})
            continue
        kept[key] = (obj, doc.source)
    ordered = [kept[key] for key in sorted(kept)]
    return [o for o, _ in ordered], [s for _, s in ordered], errors, duplicates


def _flatten(documents: Iterable[Document], errors: list[InputError]) -> Iterator[Document]:
    for doc in documents:
        data = doc.data
        if data is None:
            continue  # an empty document (a trailing `---`)
        kind = data.get("kind") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind.endswith("List") and "items" in data:
            items = data.get("items") or []
            if not isinstance(items, list):
                errors.append(InputError(doc.path, f"{doc.where}: {kind} `items` is not a list", doc.line))
                continue
            # Raw API lists (`PodList`) leave kind/apiVersion off their items; kubectl's `List` keeps them.
            item_kind = kind[: -len("List")] or None
            for number, item in enumerate(items, start=1):
                if isinstance(item, dict) and item_kind:
                    item.setdefault("kind", item_kind)
                    if "apiVersion" in data:
                        item.setdefault("apiVersion", data["apiVersion"])
                line = doc.item_lines[number - 1] if number <= len(doc.item_lines) else doc.line
                yield from _flatten([Document(doc.path, doc.index, line, item, number)], errors)
        else:
            yield doc


def _invalid(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"expected a Kubernetes object (a mapping), found {type(data).__name__}"
    if not isinstance(data.get("kind"), str) or not data["kind"]:
        return "object has no kind"
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return f"{data['kind']} has no metadata.name"
    if meta.get("namespace") is not None and not isinstance(meta["namespace"], str):
        return f"{data['kind']}/{meta['name']} has a non-string metadata.namespace"
    return None


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop what must not (or need not) reach an inventory: Secret values (keys stay, as evidence of
    what a Secret holds), the last-applied annotation (a full copy of the object, Secret data
    included) and managedFields (bulk without audit value)."""
    # Copies only what it changes: the input is left as it was, without the cost of a deep copy.
    obj = dict(obj)
    meta = obj["metadata"] = dict(obj["metadata"])
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        if annotations:
            meta["annotations"] = annotations
        else:
            del meta["annotations"]
    if obj["kind"] == "Secret":
        for key in ("data", "stringData"):
            if key in obj:
                value = obj[key]
                obj[key] = {str(k): REDACTED for k in value} if isinstance(value, dict) else REDACTED
    return obj


def build_inventory(
    spec: TargetSpec,
    documents: Iterable[Document],
    *,
    files: list[str],
    errors: list[InputError],
    mode: str,
) -> Inventory:
    objects, sources, object_errors, duplicates = objects_from_documents(documents)
    platform_file, platform = load_platform(spec.options.get("platform"))
    return {
        "kind": "cluster",
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "mode": mode,
        "errors": [e.to_dict() for e in [*errors, *object_errors]],
        "files": files,
        "objects": objects,
        "sources": sources,  # sources[i] is where objects[i] was read (`file:line`)
        "duplicates": duplicates,
        "platform_file": platform_file,
        "platform": platform,
    }


def collect(spec: TargetSpec) -> Inventory:
    location = spec.location
    if location.startswith("live:"):
        raise UsageError(f"{spec.label}: live clusters are not supported yet; use snapshot:DIR")
    location = location.removeprefix("snapshot:")
    root = Path(location)
    if not root.exists():
        raise UsageError(f"{spec.label}: snapshot directory not found: {location}")
    files, documents, errors = read_snapshot(root)
    return build_inventory(spec, documents, files=files, errors=errors, mode="snapshot")


def collect_fixture(path: Path) -> Inventory:
    return collect(TargetSpec("cluster", "fixture", str(path)))


# --- platform config -------------------------------------------------------------------------------

_TOP_KEYS = {"platform", "system_namespaces", "business_units", "namespace_metadata"}
_RULE_KEYS = {"allowed", "pattern", "description"}


def default_platform_file() -> Path:
    return resources.data_dir() / "platform.yaml"


def load_platform(option: str | None = None) -> tuple[str, dict[str, Any]]:
    """The platform config (``spec.options["platform"]`` or the bundled MoJ Cloud Platform file) as
    ``(file, data)``. It is configuration, not target input: a broken file stops the run."""
    path = Path(option) if option else default_platform_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read platform file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        err = _yaml_error(str(path), exc)
        raise UsageError(f"platform file {err}") from None
    problem = _platform_problem(data)
    if problem:
        raise UsageError(f"platform file {path}: {problem}")
    return (str(path) if option else "builtin:platform.yaml"), _jsonable(data)


def _platform_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "expected a mapping at the top level"
    unknown = set(data) - _TOP_KEYS
    if unknown:
        return f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(sorted(_TOP_KEYS))}"
    for key in ("system_namespaces", "business_units"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key} must be a list of strings"
    sections = data.get("namespace_metadata") or {}
    if not isinstance(sections, dict) or set(sections) - {"labels", "annotations"}:
        return "namespace_metadata may hold only `labels` and `annotations`"
    for section, rules in sections.items():
        if not isinstance(rules, dict):
            return f"namespace_metadata.{section} must map keys to rules"
        for key, rule in rules.items():
            where = f"namespace_metadata.{section}.{key}"
            if rule is None:
                continue
            if not isinstance(rule, dict) or set(rule) - _RULE_KEYS:
                return f"{where} may hold only {', '.join(sorted(_RULE_KEYS))}"
            if "allowed" in rule and not isinstance(rule["allowed"], list):
                return f"{where}.allowed must be a list"
            if "pattern" in rule:
                try:
                    re.compile(str(rule["pattern"]))
                except re.error as exc:
                    return f"{where}.pattern is not a valid regular expression: {exc}"
    return None


# --- 3. scopes -------------------------------------------------------------------------------------


def _objects(inventory: Mapping[str, Any]) -> list[KObject]:
    sources = inventory.get("sources") or []
    return [
        KObject(raw, sources[i] if i < len(sources) else None)
        for i, raw in enumerate(inventory.get("objects") or [])
    ]


def namespace_units(inventory: Inventory) -> list[Unit]:
    """One unit per team namespace. A namespace is known from its Namespace object or from objects
    in it (so workloads whose Namespace object is missing from the snapshot are still checked)."""
    platform = Platform(inventory.get("platform") or {})
    objects = _objects(inventory)
    namespace_objects = {o.name: o for o in objects if o.kind == "Namespace"}
    members: dict[str, list[KObject]] = {name: [] for name in namespace_objects}
    for obj in objects:
        if obj.namespace:
            members.setdefault(obj.namespace, []).append(obj)
    label = inventory["target"]
    return [
        Unit(
            id=f"{label}/namespace:{name}",
            target=label,
            data=NamespaceView(
                cluster=inventory["name"],
                name=name,
                namespace=namespace_objects.get(name),
                objects=tuple(members[name]),
                platform=platform,
            ),
        )
        for name in sorted(members)
        if not platform.is_system(name)
    ]


def cluster_units(inventory: Inventory) -> list[Unit]:
    """One unit for the whole cluster. File errors stay in the view (``data.errors``), not in
    ``Unit.errors``: checks decide what an unreadable file means for them."""
    label = inventory["target"]
    view = ClusterView(
        cluster=inventory["name"],
        objects=tuple(_objects(inventory)),
        files=tuple(inventory.get("files") or ()),
        errors=tuple(InputError.from_dict(e) for e in inventory.get("errors") or ()),
        platform=Platform(inventory.get("platform") or {}),
        duplicates=tuple(inventory.get("duplicates") or ()),
    )
    return [Unit(id=f"{label}/cluster", target=label, data=view)]


SCOPES = {"namespace": namespace_units, "cluster": cluster_units}

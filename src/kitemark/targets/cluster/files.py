"""Stage 1 of the cluster collector: snapshot files → raw documents, each tagged with file and line.

A file that cannot be parsed contributes no document (a half-read file is not evidence) and one
``FileProblem``, which keeps what the file itself says about where it belongs (the namespaces of the
documents read before the error, its ``namespace:`` lines) so the error can be charged to the
namespaces it may hide objects from. A Helm template is not YAML until rendered: it is skipped with
the reason, not reported as broken.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kitemark.core import input_limits, jsonio
from kitemark.core.kinds import InputError
from kitemark.core.resources import walk_inputs
from kitemark.core.yamlfile import Loader, error_text
from kitemark.targets.cluster import classify

SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST = "kitemark-snapshot.json"  # a `kitemark snapshot` folder's manifest: checked, not read as objects

# `namespace: team-a` (YAML block or flow style) and `"namespace": "team-a"` (JSON) in a file's text.
_NAME = r"([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)"
NAMESPACE_LINE = re.compile(
    rf"""(?:^|[\s{{,])["']?namespace["']?[ \t]*:[ \t]*["']?{_NAME}["']?(?=[ \t]*(?:[,}}\]#]|$))""",
    re.MULTILINE,
)


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


@dataclass
class FileProblem:
    """An input error, with what the file says about the namespaces it holds."""

    error: InputError
    namespaces: set[str] = field(default_factory=set)  # named in the file's text
    partial: list[Any] = field(default_factory=list)  # documents parsed before the error
    placed: bool = False  # ``namespaces`` is exactly where it belongs (empty: the cluster)


@dataclass
class Snapshot:
    files: list[str]
    documents: list[Document]
    problems: list[FileProblem]
    skipped: list[dict[str, Any]]


class _Unreadable(Exception):
    """Carries a file's error (and the documents read before it) out of a parser."""

    def __init__(self, error: InputError, partial: list[Document] | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.partial = partial or []


def snapshot_files(root: Path) -> tuple[list[Path], list[InputError]]:
    """Snapshot files under ``root`` in a stable order, hidden ones included (kubectl applies them; not
    ``.git`` nor Kitemark's own ``.kitemark-*``), skipping
    Kitemark's own report folders (a run started inside its target writes ``--out`` there: its
    reports are not the user's input, and reading them back would assess the last run); and an input
    error for each thing the walk refused that may hold snapshot files (a symlink leading outside the
    snapshot, dangling or looping, a folder that cannot be listed: see ``walk_inputs``)."""
    if root.is_file():
        return [root], []
    tree = walk_inputs(root, hidden=True)  # kubectl applies `.x.yaml` too
    refused = [InputError(r.path, r.reason) for r in tree.refused_for(SUFFIXES)]
    return tree.files(SUFFIXES), refused


def read_snapshot(root: Path) -> Snapshot:
    """Parse every snapshot file into documents; unparsable files become problems, templates and
    chart metadata are skipped with their reason."""
    snapshot = Snapshot([], [], [], [])
    charts = classify.ChartDirs(root)
    paths, refused = snapshot_files(root)
    snapshot.problems += [FileProblem(error) for error in refused]
    for path in paths:
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        if rel == MANIFEST and not root.is_file():
            continue  # read by manifest.check_manifest
        snapshot.files.append(rel)
        try:
            text = input_limits.read_text(path)
        except input_limits.LimitExceeded as exc:
            snapshot.problems.append(FileProblem(InputError(rel, str(exc))))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problem = InputError(rel, f"cannot read file: {_one_line(str(exc))}")
            snapshot.problems.append(FileProblem(problem))
            continue
        skipped = classify.file_skip_reason(rel, text, charts)
        if skipped:
            snapshot.skipped.append(classify.skip(rel, None, *skipped))
            continue
        try:
            parse = _parse_json if path.suffix.lower() == ".json" else _parse_yaml
            with input_limits.parse_deadline():
                snapshot.documents.extend(parse(rel, text))
        except input_limits.LimitExceeded as exc:  # the deadline, raised wherever the parse was
            snapshot.problems.append(FileProblem(InputError(rel, str(exc))))
        except _Unreadable as exc:
            line = classify.template_line(text)
            if line is not None:
                snapshot.skipped.append(classify.skip(rel, line, classify.TEMPLATE_REASON, True))
                continue
            named = {m.group(1) for m in NAMESPACE_LINE.finditer(text)}
            snapshot.problems.append(FileProblem(exc.error, named, [d.data for d in exc.partial]))
    return snapshot


def _parse_yaml(rel: str, text: str) -> list[Document]:
    loader = Loader(text)
    found: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            index += 1
            data = _jsonable(loader.construct_document(node))
            found.append(Document(rel, index, node.start_mark.line + 1, data, item_lines=_item_lines(node)))
    except yaml.YAMLError as exc:
        message, line = error_text(exc)
        raise _Unreadable(InputError(rel, f"invalid YAML: {message}", line), found) from None
    except input_limits.LimitExceeded:
        raise  # the parse deadline: said as such by the caller
    except (ValueError, TypeError) as exc:
        # A scalar PyYAML cannot construct (`port: 0x`) raises a plain ValueError.
        # Its message quotes the value, which may be a secret: keep only what kind of value failed.
        what = _QUOTED.sub("…", _one_line(str(exc)))
        raise _Unreadable(InputError(rel, f"invalid YAML value: {what}"), found) from None
    finally:
        loader.dispose()
    return found


def _item_lines(node: yaml.Node) -> tuple[int, ...]:
    """Lines of a List document's `items` entries, so an invalid item is reported where it is."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "items" and isinstance(value, yaml.SequenceNode):
                return tuple(item.start_mark.line + 1 for item in value.value)
    return ()


def _parse_json(rel: str, text: str) -> Iterator[Document]:
    try:
        data = jsonio.load_document(text) if text.strip() else None
    except jsonio.InvalidJSON as exc:
        raise _Unreadable(InputError(rel, exc.message, exc.line)) from None
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
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()

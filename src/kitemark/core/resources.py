"""Where the bundled suites, policies and demo live: beside the package in a wheel, at the
repository root in a checkout (editable install)."""

from __future__ import annotations

import errno
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_BUNDLED = _PACKAGE / "_bundled"
_REPO = _PACKAGE.parent.parent


def _root() -> Path:
    return _BUNDLED if (_BUNDLED / "suites").is_dir() else _REPO


def suites_dir() -> Path:
    return _root() / "suites"


def policies_dir() -> Path:
    return _root() / "policies"


def demo_dir() -> Path:
    return _root() / "fixtures" / "demo"


def check_fixtures_dir() -> Path:
    """Self-test fixtures (`fixtures/checks/<CHECK-ID>/{compliant,noncompliant}`); checkout only."""
    return _REPO / "fixtures" / "checks"


def data_dir() -> Path:
    return _PACKAGE / "data"


# Written into every report folder (`--out`): collectors walking a target skip a folder holding it, so
# a run started inside its own target never reads its earlier reports back as input.
OUTPUT_MARKER = ".kitemark-output"


# The real paths of this process's own --out folders: their reports are not input, and are skipped
# without a word. Any other report folder inside a target is refused, so a marker file cannot hide
# part of a target from assessment.
_OWN_OUTPUTS: set[Path] = set()


def is_output_folder(folder: Path) -> bool:
    return (folder / OUTPUT_MARKER).is_file()


def own_output(folder: Path) -> None:
    """Record ``folder`` as this run's ``--out``: the walk skips it silently wherever it lies."""
    _OWN_OUTPUTS.add(folder.resolve())


# What Kitemark writes in an --out folder (its hidden files aside): in this run's own --out, only these
# are passed over; anything else there is input like any other file.
OWN_REPORT_NAMES = frozenset({"results.json", "junit.xml", "compliance.html", "inventory"})


def _report_folder(tree: InputTree, folder: Path, real: Path) -> bool:
    """Whether ``folder`` is a report folder not to be read: one that is not this run's own ``--out``
    is refused, naming it (it may be any folder holding a `.kitemark-output` file). This run's own is
    read, but for the files Kitemark writes there (``OWN_REPORT_NAMES``), so a file committed into it
    is not hidden."""
    if not is_output_folder(folder) or real in _OWN_OUTPUTS:
        return False
    reason = (
        f"holds {OUTPUT_MARKER}, so it is a Kitemark report folder and not this run's --out: "
        "not read (move it out of the target, or delete the marker if it is input)"
    )
    tree.refused.append(Refused(tree.rel(folder), reason, True))
    return True


@dataclass(frozen=True)
class Refused:
    """Something under a target that is not read, and why: a symlink that leads outside the target,
    dangles or loops, a folder that cannot be listed, or an entry that is not a regular file (a FIFO
    named ``x.yaml`` would block the run forever)."""

    path: str  # relative to the target root, POSIX separators
    reason: str
    folder: bool | None  # a folder, a file, or unknown (a dangling or looping symlink)

    def concerns(self, suffixes: tuple[str, ...]) -> bool:
        """Whether a collector reading files ending in ``suffixes`` may miss input because of it: a
        folder may hold anything, a file matters by its name, and a link of unknown kind matters by
        its name too, or when it has no extension (it may have been a folder)."""
        name = posixpath.basename(self.path)
        if self.folder or name.endswith(suffixes):
            return True
        return self.folder is None and "." not in name


@dataclass(frozen=True)
class Hidden:
    """A hidden file or folder the walk passed over (not ``.git``, nor Kitemark's own ``.kitemark-*``):
    the collector that does not read hidden entries decides which to list, and why."""

    path: str  # relative to the target root, POSIX separators
    folder: bool | None  # a folder, a file, or unknown (a symlink: not followed, so not looked at)


@dataclass
class InputTree:
    """What ``walk_inputs`` found under a target: each folder read with its visible file names (by the
    path they are read at, under ``root``), what was refused, and the hidden entries passed over."""

    root: Path
    folders: dict[Path, list[str]] = field(default_factory=dict)
    refused: list[Refused] = field(default_factory=list)
    hidden: list[Hidden] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def files(self, suffixes: tuple[str, ...]) -> list[Path]:
        """The files whose name ends with one of ``suffixes`` (exactly: kubectl, OPA and Terraform ignore
        `x.YAML`, `x.Rego`, `x.TF`, so Kitemark does too), sorted by relative path."""
        found = [
            folder / name
            for folder, names in self.folders.items()
            for name in names
            if name.endswith(suffixes)
        ]
        return sorted(found, key=self.rel)

    def sorted_folders(self) -> list[tuple[Path, list[str]]]:
        return sorted(self.folders.items(), key=lambda item: self.rel(item[0]))

    def refused_for(self, suffixes: tuple[str, ...]) -> list[Refused]:
        """What the walk refused that may hold such files, and the files named like them but for the
        case of their extension (``x.YAML``): not read, but never passed over in silence."""
        variants = [
            Refused(
                self.rel(folder / name),
                "extension not in lower case: kubectl, OPA and Terraform do not read such a file, so "
                "Kitemark does not either (rename it if it is input)",
                False,
            )
            for folder, names in self.folders.items()
            for name in names
            if name.lower().endswith(suffixes) and not name.endswith(suffixes)
        ]
        return [r for r in self.refused if r.concerns(suffixes)] + sorted(variants, key=lambda r: r.path)


def walk_inputs(root: Path, hidden: bool = False) -> InputTree:
    """Every folder under ``root`` (itself included) a collector reads, with its file names.

    ``.git`` and Kitemark's own hidden entries (``.kitemark-*``: a run's working folder holds its
    inventories) are left out without a word. Other hidden folders and files are read when ``hidden``
    (kubectl applies `.x.yaml` from a folder, `opa test` loads `.x.rego`); otherwise they are not
    entered (Terraform does not read hidden files) and are named in ``InputTree.hidden``, for the
    collector to list. Kitemark's report folders are left out too.
    Nothing outside the target is read: a symlink is followed only when it resolves inside ``root``;
    one that leads outside, dangles or loops is refused, as is a folder that cannot be listed and an
    entry that is neither a folder nor a regular file. A folder reached twice (a symlink to one the
    walk reads anyway) is walked once, so links to an enclosing folder terminate; a symlinked file is
    listed at the link's path as well as its own, as Terraform and OPA read it. Links are followed after
    every real folder is walked, so a folder is named by its own path, not a link's.
    """
    tree = InputTree(root)
    real_root = root.resolve()
    seen: set[Path] = set()  # real paths of the folders and files taken
    links: list[Path] = []  # followed once every real folder is walked
    pending = [(root, real_root)]
    while pending or links:
        if not pending:  # every folder reachable so far is walked: follow the links found, in order
            batch = sorted(links, key=tree.rel)
            links.clear()
            for link in batch:
                _take_link(tree, real_root, link, seen, pending)
            continue
        folder, real = pending.pop()
        if real in seen and folder != root:
            continue
        seen.add(real)
        if _report_folder(tree, folder, real):
            continue
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            tree.refused.append(Refused(tree.rel(folder), f"cannot list folder: {_reason(exc)}", True))
            continue
        names = tree.folders.setdefault(folder, [])
        own = real in _OWN_OUTPUTS
        for entry in entries:
            if _passed_over(entry.name) or (own and entry.name in OWN_REPORT_NAMES):
                continue
            path = folder / entry.name
            if not hidden and entry.name.startswith("."):
                tree.hidden.append(Hidden(tree.rel(path), _kind(entry)))
                continue
            if entry.is_symlink():
                links.append(path)
            elif entry.is_dir(follow_symlinks=False):
                pending.append((path, real / entry.name))
            elif entry.is_file(follow_symlinks=False):
                seen.add(real / entry.name)
                names.append(entry.name)
            else:
                tree.refused.append(Refused(tree.rel(path), "not a regular file or folder: not read", False))
    return tree


def _passed_over(name: str) -> bool:
    """Version-control metadata and Kitemark's own working files: never input, never listed."""
    return name == ".git" or name.startswith(".kitemark")


def _kind(entry: os.DirEntry[str]) -> bool | None:
    """A folder, a file, or unknown for a symlink (not followed: where it leads is not looked at)."""
    if entry.is_symlink():
        return None
    return entry.is_dir(follow_symlinks=False)


def _take_link(
    tree: InputTree, real_root: Path, link: Path, seen: set[Path], pending: list[tuple[Path, Path]]
) -> None:
    """Follow one symlink found by ``walk_inputs`` if it stays inside the target, else refuse it."""
    rel = tree.rel(link)
    try:
        real = link.resolve()
        if not real.is_relative_to(real_root):
            # Neither where it points nor whether that exists is looked at or said: that would tell
            # what exists on the machine.
            tree.refused.append(Refused(rel, "symlink leads outside the target: not read", None))
            return
        is_dir = real.is_dir()
        real.stat()
    except FileNotFoundError:
        tree.refused.append(Refused(rel, "dangling symlink (its target does not exist): not read", None))
        return
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop, before Python 3.13
        loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
        reason = "symlink loop" if loop else f"symlink cannot be resolved ({_reason(exc)})"
        tree.refused.append(Refused(rel, f"{reason}: not read", None))
        return
    if is_dir:
        if real in seen:
            return  # walked under its own path already (and a link to an enclosing folder ends here)
        # A link into a report folder: its own (silent) or another one (refused).
        inside = [p for p in real.parents if p.is_relative_to(real_root) and is_output_folder(p)]
        if inside:
            if inside[0] not in _OWN_OUTPUTS:
                tree.refused.append(
                    Refused(rel, f"symlink into a Kitemark report folder ({OUTPUT_MARKER}): not read", True)
                )
            return
        pending.append((link, real))  # a report folder itself is refused or skipped when walked
    elif real.is_file():
        # Listed at the link's own path even when its file is read elsewhere too: where a file sits
        # can matter (a Terraform module is its folder's files; data.json is placed by its folder).
        seen.add(real)
        tree.folders.setdefault(link.parent, []).append(link.name)
        tree.folders[link.parent].sort()
    else:
        tree.refused.append(Refused(rel, "symlink to something that is not a regular file: not read", False))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


class RefusedPath(Exception):
    """A reference to a file that is refused because it is not inside the target (the reason)."""


def resolve_inside(root: Path, rel: str) -> Path:
    """The real path of ``rel`` (relative to ``root``, POSIX) when it stays inside the target, symlinks
    resolved. A reference that leaves by its own words (absolute, or ``..`` past the top) is refused
    without touching the file system, so the refusal tells nothing about what exists outside.
    Raises ``RefusedPath``."""
    norm = posixpath.normpath(rel)
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../"):
        raise RefusedPath("leads outside the target")
    real_root = root.resolve()
    try:
        real = (real_root / norm).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        raise RefusedPath("symlink loop") from None
    if not real.is_relative_to(real_root):
        raise RefusedPath("leads outside the target through a symlink")
    return real

"""The files of a terraform target on disk: which folders are modules, which of a module's files are read,
and whether a local module source names a module.

Terraform reads a folder's ``*.tf`` and ``*.tf.json`` files (OpenTofu also ``*.tofu`` and ``*.tofu.json``,
which take precedence over a ``.tf`` file of the same name), skipping hidden files and editor backups.
Kitemark reads only the ordinary HCL ``*.tf`` files; every other configuration file is *unread* and listed
in the inventory's ``skipped`` with the reason: JSON syntax, OpenTofu files, and override files
(``override.tf``, ``*_override.tf``), which Terraform merges into the blocks of the module's other files
and Kitemark does not merge yet. A folder holding any configuration file is a module; one holding
Kitemark's own output marker (a report folder written inside the target) is not read at all.

Hidden entries are not read, as Terraform does not read them, and are listed in ``skipped`` (see
``hidden_inputs``): a hidden configuration file, a tool's working folder holding configuration
(``.terraform/``), and any other hidden folder holding configuration, which alone leaves the run
incomplete. ``.git`` is passed over without a word.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

from kitemark.core.kinds import InputError
from kitemark.core.resources import Hidden, InputTree, RefusedPath, resolve_inside

JSON_REASON = "Terraform JSON syntax (*.tf.json) is not read yet: its resources are not assessed"
OVERRIDE_REASON = (
    "a Terraform override file: Kitemark does not merge override files into their module yet, "
    "so what it declares or changes is not assessed"
)
TOFU_REASON = "an OpenTofu file (*.tofu, *.tofu.json): not read yet, so its resources are not assessed"

HIDDEN_FILE_REASON = (
    "a hidden file: Terraform does not read it, so neither does Kitemark, and nothing in it is deployed "
    "(rename it if it is configuration)"
)
HIDDEN_FOLDER_REASON = (
    "a hidden folder holding Terraform files: not read, so the modules in it are not assessed (Terraform "
    "reads such a folder when it is run there or calls it as a module); rename it, or point Kitemark at "
    "it as a target of its own"
)
# Tools' working folders: copies of modules (and providers) the tool downloaded, rebuilt on each init.
# What they copy is either a folder of the target, assessed there, or a module call from outside the
# target, listed as not assessed by the checks: not reading them leaves nothing of the target out.
CACHES = {".terraform": "Terraform's", ".terragrunt-cache": "Terragrunt's"}

_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")
_LONGEST_FIRST = sorted(_SUFFIXES, key=len, reverse=True)


def config_suffix(name: str) -> str | None:
    """The configuration suffix of a file name Terraform or OpenTofu would read, or None."""
    # Hidden files (editor lock files `.#x.tf` among them) and `#x.tf#` autosaves, as Terraform skips
    # them; `x.tf~` has no suffix.
    if name.startswith(".") or (name.startswith("#") and name.endswith("#")):
        return None
    return next((s for s in _LONGEST_FIRST if name.endswith(s)), None)


def is_config_file(name: str) -> bool:
    return config_suffix(name) is not None


def unread_reason(name: str) -> str | None:
    """Why a configuration file is not read (see the module docstring), or None for an ordinary ``.tf``."""
    suffix = config_suffix(name)
    if suffix in (".tofu", ".tofu.json"):
        return TOFU_REASON
    stem = name[: -len(suffix)] if suffix else name
    if stem == "override" or stem.endswith("_override"):
        return OVERRIDE_REASON
    if suffix == ".tf.json":
        return JSON_REASON
    return None


def discover_modules(tree: InputTree) -> dict[Path, list[str]]:
    """Every folder of ``tree`` (see ``walk_inputs``) holding a configuration file, with the names of
    its configuration files, sorted by relative path. Hidden folders (``.terraform/``, ``.git/``) and
    Kitemark's own report folders are not entered, and nothing outside the target is followed."""
    found = {
        folder: [name for name in names if is_config_file(name)] for folder, names in tree.sorted_folders()
    }
    return {folder: names for folder, names in found.items() if names}


def hidden_inputs(tree: InputTree) -> list[dict[str, Any]]:
    """The hidden entries of ``tree`` that hold Terraform configuration, as ``skipped`` entries: a file
    named like one (Terraform does not read it: listed only), a tool's working folder (a cache: listed
    only), any other folder holding configuration (``holds_resources``: the run is incomplete). A
    hidden symlink to a folder is not followed to look (it leads to a folder walked anyway, or out)."""
    listed = []
    for hidden in sorted(tree.hidden, key=lambda h: h.path):
        reason, holds = _hidden_reason(tree.root, hidden)
        if reason:
            listed.append({"path": hidden.path, "line": None, "reason": reason, "holds_resources": holds})
    return listed


def _hidden_reason(root: Path, hidden: Hidden) -> tuple[str | None, bool]:
    name = posixpath.basename(hidden.path)
    if not hidden.folder:
        return (HIDDEN_FILE_REASON if name.endswith(_SUFFIXES) else None), False
    if not _holds_config(root / hidden.path):
        return None, False
    if name in CACHES:
        reason = (
            f"{CACHES[name]} working folder (its copies of modules and providers): a cache, not read; module "
            "calls whose source is not a folder of the target are listed as not assessed by the checks"
        )
        return reason, False
    return HIDDEN_FOLDER_REASON, True


def _holds_config(folder: Path) -> bool:
    """Whether a configuration file is named anywhere under ``folder``: names only, nothing is read
    and no symlink is followed."""
    for _, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git"]
        if any(is_config_file(name) for name in names):
            return True
    return False


def refused_inputs(
    tree: InputTree, modules: list[Path]
) -> tuple[dict[Path, list[InputError]], dict[Path, list[InputError]]]:
    """What the walk refused that may hold configuration (a symlink leading outside the target,
    dangling or looping, a folder that cannot be listed, a name in another case) as input errors:
    ``(charged, own)``. A file is part of the module of its folder, as Terraform reads a module's
    folder: it is charged to that module (``charged``), or, when its folder holds no other
    configuration, is an error of that folder (``own``). A folder is no part of the module above it
    (Terraform reads a sub-folder only when called, and a call into a refused folder is an error at
    the call): it is an error of its own (``own``), so one refused folder does not put every module
    in error."""
    charged: dict[Path, list[InputError]] = {}
    own: dict[Path, list[InputError]] = {}
    for refused in tree.refused_for(_SUFFIXES):
        error = InputError(refused.path, refused.reason)
        path = tree.root / refused.path
        if refused.folder is not True and posixpath.basename(refused.path).lower().endswith(_SUFFIXES):
            into = charged if path.parent in modules else own
            into.setdefault(path.parent, []).append(error)
        else:
            own.setdefault(path, []).append(error)
    return charged, own


def relpath(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def local_source_problem(root: Path, caller_dir: str, source: str) -> str | None:
    """Why a local module source (``./x``, ``../x``) of a module in ``caller_dir`` (relative to the target
    folder ``root``) names no module inside the target — it does not exist, is not a folder, holds no
    configuration file (an uninitialised git submodule is an empty folder), or leads outside the target
    through a symlink — or None when it names one. A source outside the target by its own words
    (``../x`` above the target folder) is None and not looked at: it is listed as not assessed, like a
    registry source, and whether it exists on this machine is not Kitemark's to tell."""
    shown = posixpath.normpath(posixpath.join(caller_dir, source))
    try:
        folder = resolve_inside(root, shown)
    except RefusedPath as refused:
        return None if posixpath.isabs(shown) or shown.split("/")[0] == ".." else f"{shown} {refused}"
    try:
        if not folder.exists():
            return f"{shown} does not exist"
        if not folder.is_dir():
            return f"{shown} is not a folder"
        if not any(is_config_file(p.name) and p.is_file() for p in folder.iterdir()):
            return f"{shown} holds no .tf files"
    except OSError as exc:
        return f"{shown} cannot be read: {exc.strerror or exc}"
    return None

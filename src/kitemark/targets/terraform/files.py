"""The files of a terraform target on disk: which folders are modules, which of a module's files are read,
and whether a local module source names a module.

Terraform reads a folder's ``*.tf`` and ``*.tf.json`` files (OpenTofu also ``*.tofu`` and ``*.tofu.json``,
which take precedence over a ``.tf`` file of the same name), skipping hidden files and editor backups.
Kitemark reads only the ordinary HCL ``*.tf`` files; every other configuration file is *unread* and listed
in the inventory's ``skipped`` with the reason: JSON syntax, OpenTofu files, and override files
(``override.tf``, ``*_override.tf``), which Terraform merges into the blocks of the module's other files
and Kitemark does not merge yet. A folder holding any configuration file is a module; one holding
Kitemark's own output marker (a report folder written inside the target) is not read at all.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from kitemark.core.resources import input_folders

JSON_REASON = "Terraform JSON syntax (*.tf.json) is not read yet: its resources are not assessed"
OVERRIDE_REASON = (
    "a Terraform override file: Kitemark does not merge override files into their module yet, "
    "so what it declares or changes is not assessed"
)
TOFU_REASON = "an OpenTofu file (*.tofu, *.tofu.json): not read yet, so its resources are not assessed"

_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")
_LONGEST_FIRST = sorted(_SUFFIXES, key=len, reverse=True)


def config_suffix(name: str) -> str | None:
    """The configuration suffix of a file name Terraform or OpenTofu would read, or None."""
    # Hidden files (editor lock files `.#x.tf` among them) and `#x.tf#` autosaves, as Terraform skips
    # them; `x.tf~` has no suffix.
    if name.startswith(".") or (name.startswith("#") and name.endswith("#")):
        return None
    return next((s for s in _LONGEST_FIRST if name.endswith(s)), None)


def is_config_file(path: Path) -> bool:
    return config_suffix(path.name) is not None and path.is_file()


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


def discover_modules(root: Path) -> list[Path]:
    """Every folder under ``root`` (itself included) holding a configuration file, sorted by relative path.
    Hidden folders (``.terraform/``, ``.git/``) and Kitemark's own report folders are not entered."""
    found = [here for here, names in input_folders(root) if any(is_config_file(here / f) for f in names)]
    return sorted(found, key=lambda p: relpath(root, p))


def relpath(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def local_source_problem(root: Path, caller_dir: str, source: str) -> str | None:
    """Why a local module source (``./x``, ``../x``) of a module in ``caller_dir`` (relative to the target
    folder ``root``) names no module — it does not exist, is not a folder, or holds no configuration file
    (an uninitialised git submodule is an empty folder) — or None when it names one."""
    shown = posixpath.normpath(posixpath.join(caller_dir, source))
    folder = Path(os.path.normpath(root / caller_dir / source))
    try:
        if not folder.exists():
            return f"{shown} does not exist"
        if not folder.is_dir():
            return f"{shown} is not a folder"
        if not any(is_config_file(p) for p in folder.iterdir()):
            return f"{shown} holds no .tf files"
    except OSError as exc:
        return f"{shown} cannot be read: {exc.strerror or exc}"
    return None

"""The files of a policies target directory: ``target_files`` walks it, sorted by relative path (hidden
directories and files skipped, and Kitemark's own report folders: a run started inside the target writes
one there, which the next run must not read back); ``relative_path`` names a file as the inventory does
(POSIX, relative to the target location) and ``read_file`` reads one as UTF-8. Shared by the Rego file
collection (``kitemark.targets.policies.rego_files``) and the Gatekeeper suite collection
(``kitemark.targets.policies.gatekeeper_suites``).
"""

from __future__ import annotations

from pathlib import Path

from kitemark.core.resources import input_folders


def target_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``root`` with one of ``suffixes`` (see ``input_folders``), sorted by path."""
    found = [here / f for here, names in input_folders(root) for f in names if f.endswith(suffixes)]
    return sorted(found, key=lambda p: relative_path(root, p))


def relative_path(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_file(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")

"""The files of a policies target directory: ``target_files`` walks it, sorted by relative path (hidden
directories and files skipped, and Kitemark's own report folders: a run started inside the target writes
one there, which the next run must not read back); ``relative_path`` names a file as the inventory does
(POSIX, relative to the target location) and ``read_file`` reads one as UTF-8. Shared by the Rego file
collection (``kitemark.targets.policies.rego_files``) and the Gatekeeper suite collection
(``kitemark.targets.policies.gatekeeper_suites``).
"""

from __future__ import annotations

import os
from pathlib import Path

from kitemark.core.resources import is_output_folder


def target_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``root`` with one of ``suffixes``, hidden directories and report folders skipped, sorted
    by path."""
    found: list[Path] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        if is_output_folder(Path(current)):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(current) / f for f in files if f.endswith(suffixes) and not f.startswith("."))
    return sorted(found, key=lambda p: relative_path(root, p))


def relative_path(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_file(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")

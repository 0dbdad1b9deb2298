"""Where the bundled suites, policies and demo live: beside the package in a wheel, at the
repository root in a checkout (editable install)."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


def is_output_folder(folder: Path) -> bool:
    return (folder / OUTPUT_MARKER).is_file()


def input_folders(root: Path) -> Iterator[tuple[Path, list[str]]]:
    """Each folder under ``root`` (itself included) a collector reads, with its visible file names:
    hidden folders and files (``.git``, ``.terraform``) and Kitemark's own report folders are left out.
    Symlinked folders are not followed."""
    for current, dirs, files in os.walk(root, followlinks=False):
        here = Path(current)
        if is_output_folder(here):
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield here, sorted(f for f in files if not f.startswith("."))

"""The files of a policies target directory: ``walk_inputs`` (``kitemark.core.resources``) walks it
(hidden files and folders read, as ``opa test DIR`` and ``gator verify`` read them, but not ``.git``,
Kitemark's own ``.kitemark-*`` or its report folders; nothing outside the target is followed),
``relative_path`` names a file as the inventory does (POSIX, relative to the target location) and
``read_file`` reads one a suite names, refusing what is not inside the target. Shared by the Rego file
collection (``kitemark.targets.policies.rego_files``) and the Gatekeeper suite collection
(``kitemark.targets.policies.gatekeeper_suites``).
"""

from __future__ import annotations

from pathlib import Path

from kitemark.core import input_limits
from kitemark.core.resources import RefusedPath, resolve_inside


def relative_path(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_file(root: Path, rel: str) -> str:
    """The UTF-8 text of ``rel``. Raises ``RefusedPath`` when it lands outside the target (by ``..``,
    an absolute path or a symlink) or is not a regular file (a FIFO would block the run); raises
    ``LimitExceeded`` past the size limit."""
    real = resolve_inside(root, rel)
    if real.exists() and not real.is_file():
        raise RefusedPath("not a regular file")
    return input_limits.read_text(real)

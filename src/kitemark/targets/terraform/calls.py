"""The calls between the modules of one target: ``module "x" { source = "./modules/x" }`` in a module
calls the module in that folder, resolved relative to the caller's own folder as Terraform does. Only
local paths (``./``, ``../``) inside the target are followed; a registry, git or outside source is left
to the *not applicable* note of ``view.nothing_here``. (A local source that names no module at all is an
input error of its caller, found on disk by the collector: ``files.local_source_problem``.)
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from kitemark.targets.terraform.view import ModuleCall, ModuleView


def local_source(caller_dir: str, source: object) -> str | None:
    """The target-relative folder a literal local ``source`` names, or None (not local, or outside)."""
    if not isinstance(source, str) or not source.startswith(("./", "../")):
        return None
    resolved = posixpath.normpath(posixpath.join(caller_dir, source))
    if resolved == ".." or resolved.startswith("../"):
        return None
    return resolved


def link_calls(views: Iterable[ModuleView]) -> None:
    """Fill each view's ``callers`` (and its ``calls_in_target``) from the module blocks of the others."""
    modules = list(views)
    by_dir = {view.dir: view for view in modules}
    for view in modules:
        for block in view.module_calls:
            folder = local_source(view.dir, block.attrs.get("source"))
            callee = by_dir.get(folder) if folder is not None else None
            if callee is None or callee is view:
                continue
            view.calls_in_target[block.name] = callee.path
            callee.callers.append(ModuleCall(view, block))

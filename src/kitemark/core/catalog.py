"""The catalogue of checks: import every suite module so each `@check` registers its metadata."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from kitemark.core import resources
from kitemark.core.checks import registered
from kitemark.core.model import Check


def load_checks(suites: Path | None = None) -> dict[str, Check]:
    root = suites or resources.suites_dir()
    for path in sorted(root.rglob("test_*.py")):
        name = "kitemark_suites." + ".".join(path.relative_to(root).with_suffix("").parts)
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return registered()

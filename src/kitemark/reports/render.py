"""Write every output of a run from its results document.

Each output is one module with a ``render(document) -> str | bytes`` function, listed in ``OUTPUTS``
(SARIF, metrics and the like are one more module and one more line). Every output is rendered before
any is written, and each is written atomically, so a failed run never leaves a half-written report
and never removes the previous one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from kitemark import results
from kitemark.reports import html, junit

RESULTS = "results.json"
JUNIT = "junit.xml"
HTML = "compliance.html"

OUTPUTS: dict[str, Callable[[dict[str, Any]], str | bytes]] = {
    RESULTS: results.dumps,  # the source of truth first
    JUNIT: junit.render_junit,
    HTML: html.render_html,
}


def render_all(document: dict[str, Any], out: Path, skip: Collection[str] = ()) -> dict[str, Path]:
    rendered = {name: render(document) for name, render in OUTPUTS.items() if name not in skip}
    paths = {}
    for name, data in rendered.items():
        paths[name] = out / name
        results.write_atomic(paths[name], data)
    return paths

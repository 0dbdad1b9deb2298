"""Write every output of a run from its results document.

Each output is one module with a ``render(document) -> str | bytes`` function, listed in ``OUTPUTS``
(SARIF, metrics and the like are one more module and one more line). Every output is rendered before
any is written, and each is written atomically (``results.json`` last), so a failed run never leaves
a half-written report and never removes the previous one; ``kitemark.outfolder`` puts them in place.
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


def render_outputs(document: dict[str, Any], skip: Collection[str] = ()) -> dict[str, bytes]:
    """Every output's content, ``results.json`` last (the order they are put in place)."""
    rendered = {name: render(document) for name, render in OUTPUTS.items() if name not in skip}
    ordered = sorted(rendered, key=lambda name: name == RESULTS)
    return {name: _bytes(rendered[name]) for name in ordered}


def render_all(document: dict[str, Any], out: Path, skip: Collection[str] = ()) -> dict[str, Path]:
    """Render and write every output into ``out`` (each atomically, results.json last), without the
    checks of an ``--out`` folder (``kitemark.outfolder``): for callers with a folder of their own."""
    paths = {}
    for name, data in render_outputs(document, skip).items():
        paths[name] = out / name
        results.write_atomic(paths[name], data, durable=True)
    return paths


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data

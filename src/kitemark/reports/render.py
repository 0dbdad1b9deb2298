"""Write every output of a run from its results document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kitemark import results
from kitemark.reports.html import write_html
from kitemark.reports.junit import write_junit

RESULTS = "results.json"
JUNIT = "junit.xml"
HTML = "compliance.html"


def render_all(document: dict[str, Any], out: Path) -> dict[str, Path]:
    """`results.json` first (the source of truth), then the reports rendered from it."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / RESULTS, "junit": out / JUNIT, "html": out / HTML}
    results.validate(document)
    results.write(document, paths["results"])
    write_junit(document, paths["junit"])
    write_html(document, paths["html"])
    return paths

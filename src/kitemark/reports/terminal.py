"""The terminal summary: results per GOV.UK Service Standard point, and where the reports are."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kitemark.reports.render import HTML, JUNIT, RESULTS

COLUMNS = (
    ("passed", "green"),
    ("failed", "red"),
    ("waived", "yellow"),
    ("not_applicable", "dim"),
    ("error", "magenta"),
)
SUMMARY_FRAMEWORK = "service-standard"


def requirement_counts(document: dict[str, Any], requirement: dict[str, Any]) -> Counter[str]:
    wanted = set(requirement["checks"])
    return Counter(r["status"] for r in document["results"] if r["check_id"] in wanted)


def summary_table(document: dict[str, Any], width: int = 110) -> Table:
    framework = next((f for f in document["frameworks"] if f["id"] == SUMMARY_FRAMEWORK), None)
    table = Table(title=f"Kitemark — {framework['name'] if framework else 'results'}", title_justify="left")
    table.add_column("Point", justify="right", no_wrap=True, min_width=5)
    # The count columns and borders take 53 characters; the requirement title gets what is left.
    table.add_column("Requirement", no_wrap=True, overflow="ellipsis", max_width=max(20, min(60, width - 53)))
    for name, style in COLUMNS:
        header = "n/a" if name == "not_applicable" else name
        table.add_column(header, justify="right", style=style, no_wrap=True, min_width=len(header))
    manual = []
    ran = {r["check_id"] for r in document["results"]}
    partial = False
    for req in framework["requirements"] if framework else []:
        if req["manual"]:
            manual.append(req["id"])
            continue
        counts = requirement_counts(document, req)
        point = req["id"]
        if not set(req["checks"]) <= ran:
            point, partial = f"{point}*", True
        table.add_row(point, req["title"], *(str(counts.get(name, 0)) for name, _ in COLUMNS))
    if manual:
        table.add_row(_span(manual), "manual — not assessed automatically", *("-" for _ in COLUMNS))
    if partial:
        table.caption = "* partly assessed: some of its checks did not run here"
        table.caption_justify = "left"
    summary = document["summary"]
    table.add_section()
    table.add_row(
        "", f"all results ({summary['total']})", *(str(summary[name]) for name, _ in COLUMNS), style="bold"
    )
    return table


def _span(ids: list[str]) -> str:
    """`1-7` for a contiguous run of numbered points, else a comma list."""
    if all(i.isdigit() for i in ids) and [int(i) for i in ids] == list(range(int(ids[0]), int(ids[-1]) + 1)):
        return f"{ids[0]}-{ids[-1]}" if len(ids) > 1 else ids[0]
    return ", ".join(ids)


def render_summary(document: dict[str, Any], out: Path, *, color: bool = False, width: int = 110) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width)
    console.print(summary_table(document, width))
    if not document["run"].get("complete", True):
        verdict = f"INCOMPLETE RUN ({document['run'].get('stopped')}): partial results, not compliant"
    elif document["summary"]["total"] == 0:
        verdict = "NOTHING ASSESSED (no results)"
    else:
        verdict = "COMPLIANT" if document["summary"]["compliant"] else "NOT COMPLIANT"
    console.print(f"Verdict: [bold]{verdict}[/bold]")
    for name in (HTML, JUNIT, RESULTS):
        console.print(f"  {name:<16} {out / name}")
    unused = [w["id"] for w in document["waivers"]["entries"] if not w["used"]]
    if unused:
        console.print(f"Unused waivers: {', '.join(unused)}")
    return buffer.getvalue()


def print_summary(document: dict[str, Any], tw: Any, out: Path) -> None:
    tw.line()
    tw.write(
        render_summary(
            document,
            out,
            color=bool(getattr(tw, "hasmarkup", False)),
            width=max(80, getattr(tw, "fullwidth", 110)),
        )
    )

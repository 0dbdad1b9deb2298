"""The terminal summary: results per GOV.UK Service Standard point, the verdict with why, and where the
reports are. It renders what ``results.json`` says and decides nothing itself.

Every text from the document is passed through ``safe_text``: printed as plain text (``markup=False``)
or escaped for rich markup where rich parses it (table cells and titles), so a name holding escape
sequences or ``[/bold]`` is shown, never acted on."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kitemark.reports.render import HTML, JUNIT, RESULTS
from kitemark.reports.safe_text import for_rich, for_terminal
from kitemark.results import judged_on, warnings
from kitemark.verdicts.decide import RUN_VERDICTS

COLUMNS = (
    ("passed", "green"),
    ("failed", "red"),
    ("waived", "yellow"),
    ("not_applicable", "dim"),
    ("error", "magenta"),
)
SUMMARY_FRAMEWORK = "service-standard"
PARTIAL = {"partial", "not_run"}


def summary_framework(document: dict[str, Any]) -> dict[str, Any] | None:
    """The framework the table shows: the first one the run selected, else the Service Standard."""
    chosen = [f for run in document["runs"] for f in run["selection"].get("frameworks") or []]
    by_id = {f["id"]: f for f in document["frameworks"]}
    for fid in [*chosen, SUMMARY_FRAMEWORK]:
        if fid in by_id:
            return by_id[fid]
    return document["frameworks"][0] if document["frameworks"] else None


def summary_table(document: dict[str, Any], width: int = 110) -> Table:
    framework = summary_framework(document)
    name = for_rich(framework["name"], one_line=True) if framework else "results"
    table = Table(title=f"Kitemark — {name}", title_justify="left")
    label = "Point" if framework and framework["id"] == SUMMARY_FRAMEWORK else "Id"
    table.add_column(label, justify="right", no_wrap=True, min_width=5)
    # The count columns and borders take 53 characters; the requirement title gets what is left.
    table.add_column("Requirement", no_wrap=True, overflow="ellipsis", max_width=max(20, min(60, width - 53)))
    for name, style in COLUMNS:
        header = "n/a" if name == "not_applicable" else name
        table.add_column(header, justify="right", style=style, no_wrap=True, min_width=len(header))
    manual = []
    partial = False
    for req in framework["requirements"] if framework else []:
        if req["verdict"] == "manual":
            manual.append(req["id"])
            continue
        point = for_rich(req["id"], one_line=True)
        if req["verdict"] in PARTIAL:
            point, partial = f"{point}*", True
        counts = req.get("counts") or {}
        title = for_rich(req["title"], one_line=True)
        table.add_row(point, title, *(str(counts.get(name, 0)) for name, _ in COLUMNS))
    if manual:
        points = for_rich(_span(manual), one_line=True)
        table.add_row(points, "manual — not assessed automatically", *("-" for _ in COLUMNS))
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


def timings_line(document: dict[str, Any], report_seconds: float | None = None) -> str | None:
    """Where a run's time went, so a slow nightly run says which part to look at."""
    if len(document["runs"]) != 1 or not document["runs"][0].get("timings"):
        return None  # a merged document's phases belong to its separate runs
    found = document["runs"][0]["timings"]
    checks = sum(r["duration"] for r in document["results"])
    parts = [f"collect {found['collect']:.1f} s"] if "collect" in found else []
    if "evaluate" in found:
        parts.append(f"evaluate {found['evaluate']:.1f} s (checks' own time {checks:.1f} s)")
    if report_seconds:
        parts.append(f"reports {report_seconds:.1f} s")
    return "Timings: " + "; ".join(parts) if parts else None


def _config_lines(document: dict[str, Any]) -> list[str]:
    """The config file a run judged against, and which inputs it changed (a reader must know)."""
    lines = []
    for run in document["runs"]:
        config = run.get("config") or {}
        if config.get("file"):
            changed = ", ".join(config.get("overrides") or []) or "no input"
            lines.append(f"Config: {config['file']} (overrides {changed})")
    return sorted(set(lines))


def render_summary(
    document: dict[str, Any],
    out: Path,
    *,
    color: bool = False,
    width: int = 110,
    report_seconds: float | None = None,
) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    console.print(summary_table(document, width))
    summary = document["summary"]
    selections = sorted({run["selection"].get("text", "all checks") for run in document["runs"]})

    def plain(line: str, style: str | None = None, one_line: bool = False) -> None:
        console.print(for_terminal(line, one_line=one_line), markup=False, style=style)

    plain(f"Selection: {'; '.join(selections)}")
    for line in _config_lines(document):
        plain(line)
    plain(f"Waivers judged as of: {judged_on(document) or 'not recorded'}")
    console.print(f"Verdict: [bold]{RUN_VERDICTS[summary['verdict']].upper()}[/bold]")
    for warning in warnings(document):
        plain(f"  warning: {warning}", style="bold yellow", one_line=True)
    for note in (note for run in document["runs"] for note in run.get("notes") or []):
        plain(f"  note: {note}")
    for reason in document["completeness"]["reasons"]:
        plain(f"  incomplete: {reason}")
    if summary["input_errors"]:
        console.print(f"  {summary['input_errors']} input error(s): see the targets in compliance.html")
    skipped = sum(len(t.get("skipped") or []) for t in document["targets"])
    if skipped:
        console.print(f"  {skipped} input(s) not assessed, each listed with its reason in the report")
    for name in (HTML, JUNIT, RESULTS):
        plain(f"  {name:<16} {out / name}")
    timings = timings_line(document, report_seconds)
    if timings:
        plain(timings)
    unused = [for_terminal(w["id"], one_line=True) for w in document["waivers"]["entries"] if not w["used"]]
    if unused:
        plain(f"Unused waivers: {', '.join(unused)}")
    return buffer.getvalue()


def print_summary(document: dict[str, Any], tw: Any, out: Path, report_seconds: float | None = None) -> None:
    tw.line()
    tw.write(
        render_summary(
            document,
            out,
            color=bool(getattr(tw, "hasmarkup", False)),
            width=max(80, getattr(tw, "fullwidth", 110)),
            report_seconds=report_seconds,
        )
    )

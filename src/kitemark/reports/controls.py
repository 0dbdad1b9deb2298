"""`kitemark controls`: the catalogue as an auditor or a platform engineer reads it: every check with
the controls the framework files give it and the data it reads, every input with its default (and
its value under a config file), and every framework requirement with its checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kitemark.core.catalog import Catalogue
from kitemark.core.config import find_config, load_config
from kitemark.core.errors import UsageError
from kitemark.core.frameworks import controls_by_check, load_frameworks, problems


def catalogue_data(config_option: str | None = None) -> dict[str, Any]:
    config_path = find_config(config_option)
    config = load_config(config_path)
    catalogue = Catalogue.load()
    frameworks = load_frameworks(config.frameworks)
    found = problems(frameworks, catalogue.checks, builtin=False)
    if found:
        raise UsageError(found[0])
    values = catalogue.inputs.resolve(config.inputs, str(config_path or "config"))
    controls = controls_by_check(frameworks, catalogue.checks)
    registry = catalogue.inputs
    return {
        "config": str(config_path) if config_path else None,
        "checks": [
            {**catalogue.checks[cid].to_dict(), "controls": controls[cid]} for cid in sorted(catalogue.checks)
        ],
        "inputs": [
            {**registry.get(name).to_dict(), "value": values[name], "used_by": registry.users(name)}
            for name in registry.names()
        ],
        "frameworks": [fw.to_dict() for fw in frameworks],
    }


def print_controls(fmt: str, config_option: str | None = None) -> int:
    data = catalogue_data(config_option)
    if fmt == "json":
        print(json.dumps(data, indent=2))
    elif fmt == "markdown":
        from kitemark.reports.safe_text import for_terminal

        print(for_terminal(markdown(data)))
    else:
        _table(data)
    return 0


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    """Text for one cell of a Markdown table: a `|` in a framework title or a config value would
    start a new column, and a newline would end the row (GFM reads `\\|` as a literal bar, in code
    spans too)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(data: dict[str, Any]) -> str:
    lines = ["## Checks", "", _row("id", "kind", "severity", "title", "controls"), "|---|---|---|---|---|"]
    for c in data["checks"]:
        controls = ", ".join(c["controls"]) or "(input check: evidence completeness)"
        lines.append(_row(*(_cell(x) for x in (c["id"], c["kind"], c["severity"], c["title"], controls))))
    lines += ["", "## Inputs", "", _row("input", "used by", "description", "default"), "|---|---|---|---|"]
    for i in data["inputs"]:
        default = _short(i["default"]).replace("`", "'")
        lines.append(
            _row(f"`{_cell(i['name'])}`", _cell(", ".join(i["used_by"])), _cell(i["description"]),
                 f"`{_cell(default)}`")
        )
    for fw in data["frameworks"]:
        lines += ["", f"## {_cell(fw['name'])}", "", _row("requirement", "title", "checks"), "|---|---|---|"]
        for req in fw["requirements"]:
            covered = "manual: " + req["manual_evidence"] if req["manual"] else ", ".join(req["checks"])
            lines.append(_row(_cell(req["control"]), _cell(req["title"]), _cell(covered)))
    return "\n".join(lines)


def _table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from kitemark.reports.safe_text import for_rich

    def row(table: Table, *cells: str) -> None:
        # rich reads cells as markup: a config value or framework title holding `[/bold]` is text.
        table.add_row(*(for_rich(cell) for cell in cells))

    console = Console()
    checks = Table(title="Checks", title_justify="left")
    for column in ("id", "kind", "severity", "title", "controls", "inputs"):
        checks.add_column(column)
    for c in data["checks"]:
        controls = ", ".join(c["controls"]) or "input check"
        row(checks, c["id"], c["kind"], c["severity"], c["title"], controls, ", ".join(c["inputs"]))
    console.print(checks)
    source = f" (values from {for_rich(Path(data['config']).name)})" if data["config"] else ""
    inputs = Table(title="Inputs" + source)
    for column in ("input", "used by", "value"):
        inputs.add_column(column)
    for i in data["inputs"]:
        row(inputs, i["name"], ", ".join(i["used_by"]), _short(i["value"], 70))
    console.print(inputs)
    for fw in data["frameworks"]:
        table = Table(title=for_rich(fw["name"]), title_justify="left")
        for column in ("requirement", "title", "checks"):
            table.add_column(column)
        for req in fw["requirements"]:
            row(table, req["control"], req["title"], "manual" if req["manual"] else ", ".join(req["checks"]))
        console.print(table)

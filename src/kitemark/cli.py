"""`kitemark`: run the compliance suites (a thin wrapper around pytest) and list the controls.

Exit codes: 0 compliant, 1 a check failed or could not be assessed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from kitemark import __version__
from kitemark.core import resources
from kitemark.core.errors import UsageError

EXIT_COMPLIANT, EXIT_NONCOMPLIANT, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (the contract for exit code 2), pointing at --help for the rest."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kitemark", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kitemark {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the compliance suites (the bundled demo when no target is given)",
        description="Run the suites of the given targets; with no target, the bundled demo. "
        "Arguments Kitemark does not know (or after `--`) go to pytest.",
    )
    targets = run.add_argument_group("targets (any of these replaces the demo; only their suites run)")
    targets.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="[NAME=]snapshot:DIR",
        help="a cluster snapshot: a directory of `kubectl get -o yaml|json` output",
    )
    targets.add_argument(
        "--terraform",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="a Terraform module or a tree of modules",
    )
    targets.add_argument(
        "--policies",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="Rego policies with *_test.rego tests and Gatekeeper suite.yaml files",
    )
    targets.add_argument(
        "--aws-endpoint", metavar="URL", help="AWS API endpoint to check (e.g. a moto server)"
    )
    targets.add_argument("--aws-profile", metavar="NAME", help="AWS profile whose account to check")
    targets.add_argument(
        "--aws-region",
        action="append",
        default=[],
        metavar="REGION",
        help="AWS region (repeatable; default eu-west-2)",
    )
    targets.add_argument(
        "--aws-seed", metavar="FILE", help="check this seed served by an embedded moto server"
    )
    run.add_argument("--waivers", metavar="FILE", help="waivers YAML (the demo uses its own)")
    run.add_argument(
        "--out",
        metavar="DIR",
        default="kitemark-reports",
        help="where junit.xml, results.json and compliance.html go (default: %(default)s)",
    )
    run.add_argument(
        "-n",
        "--workers",
        default="auto",
        type=_workers,
        metavar="N",
        help="parallel workers: a number, 0 for none, or auto (default: %(default)s)",
    )
    select = run.add_argument_group("selection")
    select.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="ID",
        help="a check id (K8S-NET-001) or control (service-standard:9); repeatable",
    )
    select.add_argument(
        "--framework",
        action="append",
        default=[],
        metavar="NAME",
        help="only checks mapped in this framework (service-standard, ncsc-csp); repeatable",
    )
    select.add_argument(
        "--severity", metavar="LEVEL", help="only checks at or above: critical, high, medium, low, info"
    )
    run.add_argument("--today", metavar="YYYY-MM-DD", help="judge waiver expiry as of this date")

    report = sub.add_parser(
        "report",
        help="re-render junit.xml, compliance.html and the summary from a results.json",
        description="Re-render every report from a results.json (an archived nightly run, a run "
        "from another machine) without re-running any check. Exits 0 if it was compliant, else 1.",
    )
    report.add_argument("results", metavar="RESULTS_JSON", help="a results.json written by `kitemark run`")
    report.add_argument("--out", metavar="DIR", help="where to write the reports (default: beside the file)")

    sub.add_parser(
        "paths",
        help="print where the installed suites, bundled policies and demo are",
        description="Print the folders Kitemark runs from, e.g. for `--policies $(kitemark paths | "
        "awk '/^policies/ {print $2}')` or plain `pytest <suites> --kitemark-...`.",
    )

    controls = sub.add_parser("controls", help="list the checks and the framework requirements they evidence")
    controls.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    return parser


def _workers(value: str) -> str:
    if value == "auto" or (value.isdigit() and int(value) >= 0):
        return value
    raise argparse.ArgumentTypeError(f"expected a number of workers or 'auto', got {value!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        if args.command == "controls":
            return _controls(args.format)
        if args.command == "paths":
            for name, path in (
                ("suites", resources.suites_dir()),
                ("policies", resources.policies_dir()),
                ("demo", resources.demo_dir()),
            ):
                print(f"{name:<9}{path}")
            return EXIT_COMPLIANT
        if args.command == "report":
            return _report(Path(args.results), Path(args.out) if args.out else None)
        return _run(args, [a for a in extra if a != "--"])
    except UsageError as exc:
        print(f"kitemark: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `kitemark controls | head`: the reader left; stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_COMPLIANT


def pytest_args(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    suites = resources.suites_dir()
    argv = [
        str(suites),
        f"--rootdir={suites.parent}",
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        f"--kitemark-out={args.out}",
    ]
    if str(args.workers) != "0":
        argv += ["-n", str(args.workers)]
    repeated = {
        "--kitemark-cluster": args.cluster,
        "--kitemark-terraform": args.terraform,
        "--kitemark-policies": args.policies,
        "--kitemark-aws-region": args.aws_region,
        "--kitemark-control": args.control,
        "--kitemark-framework": args.framework,
    }
    for flag, values in repeated.items():
        argv += [f"{flag}={value}" for value in values]
    single = {
        "--kitemark-aws-endpoint": args.aws_endpoint,
        "--kitemark-aws-profile": args.aws_profile,
        "--kitemark-aws-seed": args.aws_seed,
        "--kitemark-waivers": args.waivers,
        "--kitemark-severity": args.severity,
        "--kitemark-today": args.today,
    }
    argv += [f"{flag}={value}" for flag, value in single.items() if value]
    return argv + list(extra)


def _run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    import pytest

    from kitemark.reports.render import RESULTS

    code = pytest.main(pytest_args(args, extra))
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("kitemark: error: no checks matched the targets and selection", file=sys.stderr)
        return EXIT_USAGE
    results = Path(args.out) / RESULTS
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not results.is_file():
        print(f"kitemark: the run did not complete (pytest exit code {int(code)})", file=sys.stderr)
        return EXIT_NONCOMPLIANT
    summary = json.loads(results.read_text())["summary"]
    return EXIT_COMPLIANT if summary["compliant"] else EXIT_NONCOMPLIANT


def _report(path: Path, out: Path | None) -> int:
    import jsonschema

    from kitemark import results
    from kitemark.reports.render import render_all
    from kitemark.reports.terminal import render_summary

    try:
        document = results.read(path)
        results.validate(document)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise UsageError(f"{path}: not a Kitemark results document (at {where}: {exc.message})") from None
    target = out or path.parent
    _rebase_inventories(document, path.parent, target)
    render_all(document, target)
    print(render_summary(document, target, color=sys.stdout.isatty()), end="")
    return EXIT_COMPLIANT if document["summary"]["compliant"] else EXIT_NONCOMPLIANT


def _rebase_inventories(document: dict[str, Any], source: Path, target: Path) -> None:
    """Saved inventories stay where the run wrote them: point the re-rendered report at them."""
    for record in document["targets"]:
        saved = record.get("inventory")
        if saved and not Path(saved).is_absolute():
            record["inventory"] = os.path.relpath((source / saved).resolve(), target.resolve())


def _controls(fmt: str) -> int:
    from kitemark.core.catalog import load_checks
    from kitemark.core.frameworks import controls_by_check, load_frameworks

    checks = load_checks()
    frameworks = load_frameworks()
    controls = controls_by_check(frameworks, checks)
    data: dict[str, Any] = {
        "checks": [{**checks[cid].to_dict(), "controls": controls[cid]} for cid in sorted(checks)],
        "frameworks": [fw.to_dict() for fw in frameworks],
    }
    if fmt == "json":
        print(json.dumps(data, indent=2))
    elif fmt == "markdown":
        print(_markdown(data))
    else:
        _table(data)
    return EXIT_COMPLIANT


def _markdown(data: dict[str, Any]) -> str:
    lines = ["## Checks", "", "| id | suite | severity | title | controls |", "|---|---|---|---|---|"]
    for c in data["checks"]:
        lines.append(
            f"| {c['id']} | {c['suite']} | {c['severity']} | {c['title']} | {', '.join(c['controls'])} |"
        )
    for fw in data["frameworks"]:
        lines += ["", f"## {fw['name']}", "", "| requirement | title | checks |", "|---|---|---|"]
        for req in fw["requirements"]:
            covered = "manual: " + req["manual_evidence"] if req["manual"] else ", ".join(req["checks"])
            lines.append(f"| {req['control']} | {req['title']} | {covered} |")
    return "\n".join(lines)


def _table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    checks = Table(title="Checks", title_justify="left")
    for column in ("id", "suite", "severity", "title", "controls"):
        checks.add_column(column)
    for c in data["checks"]:
        checks.add_row(c["id"], c["suite"], c["severity"], c["title"], ", ".join(c["controls"]))
    console.print(checks)
    for fw in data["frameworks"]:
        table = Table(title=fw["name"], title_justify="left")
        for column in ("requirement", "title", "checks"):
            table.add_column(column)
        for req in fw["requirements"]:
            table.add_row(
                req["control"], req["title"], "manual" if req["manual"] else ", ".join(req["checks"])
            )
        console.print(table)


if __name__ == "__main__":
    sys.exit(main())

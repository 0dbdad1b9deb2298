"""`kitemark`: compliance evidence for Kubernetes, Terraform, Rego and AWS as pytest suites.

It runs the compliance suites (a thin wrapper around pytest), re-renders or merges their results, and
lists the controls.

Exit codes: 0 compliant, 1 not compliant (a check failed, could not assess, or the run was
incomplete), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from kitemark import __version__
from kitemark.core import resources
from kitemark.core.errors import UsageError

EXIT_COMPLIANT, EXIT_NONCOMPLIANT, EXIT_USAGE = 0, 1, 2
# Kitemark's own pytest configuration for `kitemark run`: whatever pytest.ini, pyproject.toml,
# tox.ini or conftest.py sits around the working directory, a run behaves the same.
PYTEST_INI = "pytest-kitemark.ini"
NO_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (the contract for exit code 2), pointing at --help for the rest."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: `--co` (pytest's --collect-only) must not be taken for --config.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from kitemark.options import add_cli_options, add_selection_options

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
    options = run.add_argument_group("run options")
    add_cli_options(targets, options)
    options.add_argument(
        "-n",
        "--workers",
        default="auto",
        type=_workers,
        metavar="N",
        help="parallel workers: a number, 0 for none, or auto: by the amount of work (default: %(default)s)",
    )

    report = sub.add_parser(
        "report",
        help="re-render junit.xml, compliance.html and the summary from a results.json",
        description="Re-render every report from a results.json (an archived nightly run, a run "
        "from another machine, schema 1 or 2) without re-running any check. Exits as the run did.",
    )
    report.add_argument("results", metavar="RESULTS_JSON", help="a results.json written by `kitemark run`")
    report.add_argument("--out", metavar="DIR", help="where to write the reports (default: beside the file)")

    merge = sub.add_parser(
        "merge",
        help="combine the results of several runs (shards of one nightly run) into one set of reports",
        description="Combine results.json files of runs made with the same Kitemark version (different "
        "targets, or `--shard I/N` runs of the same targets) into one results.json, junit.xml and "
        "compliance.html. Refuses two results for the same check and unit.",
    )
    merge.add_argument("results", metavar="RESULTS_JSON", nargs="+", help="results.json files to combine")
    merge.add_argument("--out", metavar="DIR", required=True, help="where to write the merged reports")

    sub.add_parser(
        "paths",
        help="print where the installed suites, bundled policies and demo are",
        description="Print the folders Kitemark runs from, e.g. for `--policies $(kitemark paths | "
        "awk '/^policies/ {print $2}')` or plain `pytest <suites> --kitemark-...`.",
    )

    snapshot = sub.add_parser(
        "snapshot",
        help="read a live cluster into a folder an auditor can archive (and `--cluster snapshot:DIR` reads)",
        description="Read every resource type the cluster checks need from a live cluster, redacted "
        "as a run redacts them, into DIR with a manifest (kitemark-snapshot.json: cluster, server "
        "version, time, counts, sha256 of each file). Exits 1 if some type could not be listed.",
    )
    snapshot.add_argument(
        "--context",
        default="",
        help="the kubeconfig context (default: the current one; in a pod: its account)",
    )
    snapshot.add_argument("--kubeconfig", metavar="PATH", help="default: $KUBECONFIG, else ~/.kube/config")
    snapshot.add_argument("-o", "--out", metavar="DIR", required=True, help="a new or empty directory")
    snapshot.add_argument("--name", help="the cluster's name in the manifest (default: from the context)")

    controls = sub.add_parser(
        "controls", help="list the checks, their inputs, and the framework requirements they evidence"
    )
    controls.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    controls.add_argument("--config", metavar="FILE", help="show input values from this config file")

    rbac = sub.add_parser(
        "rbac",
        help="print the read-only RBAC (ServiceAccount, ClusterRole, binding) a live cluster run needs",
        description="Print the ServiceAccount kitemark/kitemark, the ClusterRole kitemark-reader and their "
        "ClusterRoleBinding as multi-document YAML: get and list on exactly what the selected cluster "
        "checks declare they read (every cluster check by default). Regenerate it when checks change.",
    )
    add_selection_options(rbac)
    rbac.add_argument("-o", "--output", metavar="FILE", help="write the YAML to FILE instead of printing it")
    return parser


def _workers(value: str) -> str:
    if value == "auto" or (value.isdigit() and int(value) >= 0):
        return value
    raise argparse.ArgumentTypeError(f"expected a number of workers or 'auto', got {value!r}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if args.command != "run" and extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command == "controls":
            from kitemark.reports.controls import print_controls

            return print_controls(args.format, args.config)
        if args.command == "rbac":
            from kitemark.options import refuse_repeats

            refuse_repeats(sys.argv[1:] if argv is None else argv, "")
            return _rbac(args)
        if args.command == "paths":
            for name, path in (
                ("suites", resources.suites_dir()),
                ("policies", resources.policies_dir()),
                ("demo", resources.demo_dir()),
            ):
                print(f"{name:<9}{path}")
            return EXIT_COMPLIANT
        if args.command == "snapshot":
            from kitemark.targets.cluster.live.snapshot import take_snapshot

            return take_snapshot(args.context, args.kubeconfig, Path(args.out), args.name)
        if args.command == "report":
            return _report(Path(args.results), Path(args.out) if args.out else None)
        if args.command == "merge":
            return _merge([Path(p) for p in args.results], Path(args.out))
        from kitemark.options import refuse_repeats

        refuse_repeats(sys.argv[1:] if argv is None else argv, "")
        return _run(args, [a for a in extra if a != "--"])
    except UsageError as exc:
        from kitemark.reports.safe_text import for_terminal

        print(f"kitemark: error: {for_terminal(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `kitemark controls | head`: the reader left; stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_COMPLIANT


def _rbac(args: argparse.Namespace) -> int:
    from kitemark.targets.cluster.reader_role import generate

    text = generate(
        args.kitemark_config, args.kitemark_control, args.kitemark_framework, args.kitemark_severity
    )
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_COMPLIANT
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"-o {args.output}: {exc.strerror or exc}") from None
    return EXIT_COMPLIANT


def pytest_args(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    from kitemark.core.catalog import suites_roots
    from kitemark.options import cli_to_pytest

    roots = suites_roots()
    base = Path(os.path.commonpath([str(r) for r in roots]))
    argv = [
        *map(str, roots),
        "-c",
        str(resources.data_dir() / PYTEST_INI),
        f"--rootdir={roots[0].parent}",
        # conftest.py files above the suites (the user's project) must not change a run
        f"--confcutdir={base if len(roots) > 1 else roots[0]}",
        "-p",
        "no:cacheprovider",
        # Plugin autoloading is off for the run (a user's pytest-randomly must not reorder it): these
        # are the plugins it needs, xdist workers included.
        "-p",
        "xdist.plugin",
        "-p",
        "kitemark.plugin",
        *cli_to_pytest(args),
    ]
    if str(args.workers) != "0":
        argv += ["-n", str(args.workers)]
    return argv + list(extra)


@contextmanager
def _without_pytest_env() -> Iterator[None]:
    """PYTEST_ADDOPTS (`-x`, `-k` …) and PYTEST_PLUGINS from the environment, and whatever pytest
    plugins happen to be installed, are the user's pytest set-up, not this run's: set them aside while
    the run lasts (saying so), and load only the plugins a run needs (`-p` in ``pytest_args``)."""
    saved = {name: os.environ.pop(name, None) for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    for name, value in saved.items():
        if value:
            print(f"kitemark: ignoring {name}={value!r} (pass pytest arguments after `--`)", file=sys.stderr)
    autoload = os.environ.get(NO_AUTOLOAD)
    os.environ[NO_AUTOLOAD] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
        if autoload is None:
            os.environ.pop(NO_AUTOLOAD, None)
        else:
            os.environ[NO_AUTOLOAD] = autoload


def _run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    import json

    import pytest

    from kitemark.reports.render import RESULTS

    out = Path(args.kitemark_out or "kitemark-reports")
    results = out / RESULTS
    before = results.stat().st_mtime_ns if results.is_file() else None
    with _without_pytest_env():
        code = pytest.main(pytest_args(args, extra))
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if results.is_file() and results.stat().st_mtime_ns != before:
        from kitemark.outfolder import is_complete

        summary = json.loads(results.read_text())["summary"]
        # A manifest write that failed after results.json was put in place: the set is partial.
        return EXIT_COMPLIANT if summary["compliant"] and is_complete(out) else EXIT_NONCOMPLIANT
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("kitemark: error: no checks matched the targets and selection", file=sys.stderr)
        return EXIT_USAGE
    print(f"kitemark: the run wrote no results (pytest exit code {int(code)})", file=sys.stderr)
    return EXIT_NONCOMPLIANT


def _read(path: Path) -> dict[str, Any]:
    import jsonschema

    from kitemark import results

    try:
        return results.read(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:  # a folder, or not readable
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise UsageError(f"{path}: not a Kitemark results document (at {where}: {exc.message})") from None


def _report(path: Path, out: Path | None) -> int:
    from kitemark.reports.render import HTML, JUNIT

    document = _read(path)
    target = out or path.parent
    rebase_inventories(document, path.parent, target)
    beside = target.resolve() == path.parent.resolve()
    # The archived results.json is the source: re-rendering beside it must not rewrite it, and the
    # junit.xml and compliance.html there are its renderings (an archive or CI artefact may have lost
    # the folder's manifest).
    return _publish(
        document, target, "report", keep=path.name if beside else None, adopt={JUNIT, HTML} if beside else ()
    )


def _merge(paths: list[Path], out: Path) -> int:
    from kitemark.reports.render import RESULTS
    from kitemark.verdicts.merge import merge

    for path in paths:
        if (out / RESULTS).resolve() == path.resolve():
            raise UsageError(f"--out {out}: the merged results.json would overwrite the input {path}")
    documents = []
    for path in paths:
        document = _read(path)
        rebase_inventories(document, path.parent, out)
        documents.append((str(path), document))
    return _publish(merge(documents), out, "merge")


def _publish(
    document: dict[str, Any], out: Path, command: str, keep: str | None = None, adopt: Collection[str] = ()
) -> int:
    from kitemark.outfolder import OutFolder, PublishError, new_id, report_names
    from kitemark.reports.render import render_outputs
    from kitemark.reports.terminal import render_summary

    skip = {keep} if keep else set()
    # The same one-line refusals, and the same lock, as `run --out`.
    folder = OutFolder.open(out, writes=[n for n in report_names() if n not in skip], adopt=adopt)
    try:
        for note in folder.notes:
            print(f"kitemark: {note}", file=sys.stderr)
        outputs = render_outputs(document, skip)
        try:
            staging = folder.run_folder(new_id())
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
        try:
            folder.publish(outputs, staging, command=command, run_ids=[r["id"] for r in document["runs"]])
        except PublishError as exc:
            raise UsageError(str(exc)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        folder.close()
    print(render_summary(document, out, color=sys.stdout.isatty()), end="")
    return EXIT_COMPLIANT if document["summary"]["compliant"] else EXIT_NONCOMPLIANT


def rebase_inventories(document: dict[str, Any], source: Path, target: Path) -> None:
    """Saved inventories stay where the run wrote them: point re-rendered reports at them, and say
    when they are no longer there (an archive that kept results.json alone)."""
    for record in document["targets"]:
        saved = record.get("inventory")
        if saved and not Path(saved).is_absolute():
            found = (source / saved).resolve()
            if not found.is_file():
                from kitemark.reports.safe_text import for_terminal

                note = f"the saved inventory of {record['label']} is not at {found}"
                print(f"kitemark: note: {for_terminal(note)}", file=sys.stderr)
            record["inventory"] = os.path.relpath(found, target.resolve())


def entry() -> NoReturn:
    """The `kitemark` command. After a large run the interpreter would spend a second or more freeing
    the collected targets one object at a time; the outputs are written and closed by then, so the
    process ends at once instead (after flushing what it printed)."""
    code = main()
    # The reader may have left while the last buffered block was still unwritten (`controls | head`).
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    entry()

"""The report folder under hostile conditions: files Kitemark did not write, an `--out` that is a
target, `/` or a symbolic link, two runs at once, a full disk or a kill while writing, and inputs to
`report` and `merge` that are not results documents. Outputs never lose data and are always valid."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kitemark import cli, outfolder
from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.outfolder import LOCK, MANIFEST, OutFolder, PublishError
from kitemark.results import validate

DEMO = resources.demo_dir()
COMPLIANT_TF = str(DEMO / "terraform" / "s3-bucket-compliant")
REPORTS = ("results.json", "junit.xml", "compliance.html")


def kitemark(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def run(out: Path, *extra: str, target: str = COMPLIANT_TF) -> subprocess.CompletedProcess[str]:
    return kitemark("run", "--terraform", target, "--out", str(out), "-n", "0", *extra)


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """The usage error of a refused command: exit 2, one line, no traceback, naming ``words``."""
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr and "INTERNALERROR" not in proc.stdout
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if "error" in line.lower()]
    assert len(lines) == 1, proc.stdout + proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / MANIFEST).read_text())
    return data


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete report folder from one run, copied by the tests that need a previous set."""
    out = tmp_path_factory.mktemp("previous") / "reports"
    assert run(out).returncode == 0
    return out


def copy_of(folder: Path, where: Path) -> Path:
    subprocess.run(["cp", "-a", str(folder), str(where)], check=True)
    return where


# --- files Kitemark did not write ---------------------------------------------------------------


@pytest.mark.parametrize("name", [*REPORTS, "inventory/terraform-s3-bucket-compliant.json"])
def test_a_file_kitemark_did_not_write_is_refused_not_overwritten(tmp_path: Path, name: str) -> None:
    out = tmp_path / "reports"
    (out / name).parent.mkdir(parents=True)
    (out / name).write_text("the user's own file\n")
    one_line_error(run(out), name, "not written by Kitemark", "choose another --out")
    assert (out / name).read_text() == "the user's own file\n"
    assert [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()] == [name], "nothing written"


def test_only_files_a_previous_run_wrote_are_replaced_or_deleted(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert run(out).returncode == 0
    assert manifest(out)["complete"] is True
    assert set(manifest(out)["files"]) == {*REPORTS, "inventory/terraform-s3-bucket-compliant.json"}
    (out / "notes.txt").write_text("mine\n")
    (out / "inventory" / "mine.json").write_text("{}\n")
    proc = run(out, target=f"other={COMPLIANT_TF}")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "left alone, not written by Kitemark: inventory/mine.json" in proc.stdout
    # The earlier run's inventory, named in the manifest, is gone; the user's files are not.
    assert sorted(p.name for p in (out / "inventory").iterdir()) == ["mine.json", "terraform-other.json"]
    assert (out / "notes.txt").read_text() == "mine\n" and (
        out / "inventory" / "mine.json"
    ).read_text() == "{}\n"
    assert "inventory/mine.json" not in manifest(out)["files"]


def test_a_manifest_cannot_make_kitemark_delete_other_files(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    (tmp_path / "precious.json").write_text("keep\n")
    (out / "inventory" / "user.json").write_text("keep\n")
    forged = manifest(out)
    forged["files"] += ["../precious.json", "inventory/user.json/../../../precious.json", "notes.txt"]
    (out / MANIFEST).write_text(json.dumps(forged))
    (out / "notes.txt").write_text("keep\n")
    assert run(out, target=f"other={COMPLIANT_TF}").returncode == 0
    assert (tmp_path / "precious.json").read_text() == "keep\n" and (
        out / "notes.txt"
    ).read_text() == "keep\n"
    # A manifest that is not one is refused, not trusted and not ignored.
    (out / MANIFEST).write_text("{not json")
    one_line_error(run(out), MANIFEST, "not a Kitemark manifest")


def test_a_folder_an_earlier_kitemark_marked_is_taken_as_kitemarks(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    (out / MANIFEST).unlink()  # written by a Kitemark from before the manifest: only the marker
    assert run(out, target=f"other={COMPLIANT_TF}").returncode == 0
    assert sorted(p.name for p in (out / "inventory").iterdir()) == ["terraform-other.json"]


def test_a_failed_run_never_makes_a_users_inventory_kitemarks(tmp_path: Path) -> None:
    out, empty = tmp_path / "o", tmp_path / "empty"
    (out / "inventory").mkdir(parents=True)
    empty.mkdir()
    (out / "inventory" / "foo.json").write_text("{}\n")
    first = kitemark("run", "--policies", str(empty), "--out", str(out), "-n", "0")
    assert first.returncode == 2, first.stdout[-2000:] + first.stderr[-2000:]
    # The folder Kitemark marked has its manifest from that moment: it names nothing of the user's.
    assert manifest(out)["files"] == [] and manifest(out)["complete"] is True
    proc = run(out)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "left alone, not written by Kitemark: inventory/foo.json" in proc.stdout
    assert (out / "inventory" / "foo.json").read_text() == "{}\n"
    assert "inventory/foo.json" not in manifest(out)["files"]


def test_a_folder_marked_fresh_gets_its_manifest_at_once(tmp_path: Path) -> None:
    folder = OutFolder.open(tmp_path / "new")
    folder.close()  # a command that fails after opening the folder
    assert (tmp_path / "new" / ".kitemark-output").is_file()
    assert manifest(tmp_path / "new")["files"] == [] and manifest(tmp_path / "new")["complete"] is True
    (tmp_path / "new" / "results.json").write_text("{}")  # the user's, written afterwards: refused
    with pytest.raises(UsageError, match=r"results\.json there was not written by Kitemark"):
        OutFolder.open(tmp_path / "new")


def test_a_legacy_folder_adopts_only_the_inventories_its_results_name(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    (out / MANIFEST).unlink()  # a Kitemark from before the manifest
    (out / "inventory" / "foo.json").write_text("{}\n")  # the user's
    proc = run(out, target=f"other={COMPLIANT_TF}")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert sorted(p.name for p in (out / "inventory").iterdir()) == ["foo.json", "terraform-other.json"]
    assert "left alone, not written by Kitemark: inventory/foo.json" in proc.stdout


def test_a_report_that_fails_leaves_no_marker_without_a_manifest(tmp_path: Path, previous: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from kitemark import cli
        from kitemark.reports import render
        def broken(*args, **kwargs):
            raise OSError(5, "broken")
        render.render_outputs = broken
        sys.exit(cli.main(["report", {str(previous / "results.json")!r}, "--out", {str(tmp_path / "new")!r}]))
        """
    )
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    new = tmp_path / "new"
    assert not (new / ".kitemark-output").exists() or manifest(new)["files"] == []


def test_a_set_left_partial_is_announced_by_the_next_command(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    partial = manifest(out)
    partial["complete"] = False
    (out / MANIFEST).write_text(json.dumps(partial))
    commands: list[Callable[[], subprocess.CompletedProcess[str]]] = [
        lambda: kitemark("report", str(previous / "results.json"), "--out", str(out)),
        lambda: run(out),
    ]
    for command in commands:
        proc = command()
        text = proc.stdout + proc.stderr
        warnings = [line for line in text.splitlines() if "left partial" in line]
        assert len(warnings) == 1, text[-3000:]
        assert "complete: false" in warnings[0]
        partial = manifest(out)
        partial["complete"] = False
        (out / MANIFEST).write_text(json.dumps(partial))
    assert "left partial" not in run(tmp_path / "fresh").stdout


def failing_final_manifest(command: list[str]) -> subprocess.CompletedProcess[str]:
    """``kitemark <command>`` where writing the manifest that says complete: true fails."""
    script = textwrap.dedent(
        f"""
        import errno, sys
        from kitemark import cli, outfolder
        real = outfolder.write_file
        def failing(path, data):
            if path.name == outfolder.MANIFEST and b'"complete":true' in data and b'"files":[]' not in data:
                raise OSError(errno.EIO, "Input/output error")
            real(path, data)
        outfolder.write_file = failing
        sys.exit(cli.main({command!r}))
        """
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)


def test_a_failed_final_manifest_write_is_a_failed_report(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    proc = failing_final_manifest(["report", str(previous / "results.json"), "--out", str(out)])
    one_line_error(proc, "only partly replaced", "complete: false")
    assert manifest(out)["complete"] is False and not outfolder.is_complete(out)


def test_a_failed_final_manifest_write_fails_the_run(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    proc = failing_final_manifest(["run", "--terraform", COMPLIANT_TF, "--out", str(out), "-n", "0"])
    assert "only partly replaced" in proc.stdout and manifest(out)["complete"] is False
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_report_beside_an_archive_without_its_manifest_rerenders_it(tmp_path: Path, previous: Path) -> None:
    # A CI artefact: the reports without the hidden files.
    archive = tmp_path / "artefact"
    archive.mkdir()
    for name in REPORTS:
        (archive / name).write_bytes((previous / name).read_bytes())
    source = (archive / "results.json").read_bytes()
    (archive / "compliance.html").write_text("stale")
    proc = kitemark("report", str(archive / "results.json"))
    assert proc.returncode == 0, proc.stderr
    assert (archive / "results.json").read_bytes() == source
    assert (archive / "compliance.html").read_text() != "stale"
    # Beside an archive re-rendered into another folder holding someone else's junit.xml: refused.
    other = tmp_path / "other"
    other.mkdir()
    (other / "junit.xml").write_text("<theirs/>")
    one_line_error(kitemark("report", str(archive / "results.json"), "--out", str(other)), "junit.xml")
    assert (other / "junit.xml").read_text() == "<theirs/>"


# --- folders no report may go to ----------------------------------------------------------------


def test_an_out_that_is_a_target_or_holds_one_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    subprocess.run(["cp", "-r", str(DEMO / "cluster"), str(snap)], check=True)
    (snap / "results.json").write_text('{"kind": "ConfigMap"}\n')  # an input that has Kitemark's name
    before = snapshot(snap)
    for target, out in (
        (f"s=snapshot:{snap}", snap),
        (f"s=snapshot:{snap / 'namespaces'}", snap),
        (f"s=snapshot:{snap}/", Path(f"{snap}/./")),
    ):
        proc = kitemark("run", "--cluster", target, "--out", str(out), "-n", "0")
        one_line_error(proc, "target cluster:s", "choose another --out")
    assert snapshot(snap) == before and not (snap / ".kitemark-output").exists()
    # A report folder inside a target is allowed: it is marked, and the collector does not read it.
    for _ in range(2):
        proc = kitemark("run", "--cluster", f"s=snapshot:{snap}", "--out", str(snap / "reports"), "-n", "0")
        assert proc.returncode == 1, proc.stdout[-2000:]
    inventory = json.loads((snap / "reports" / "inventory" / "cluster-s.json").read_text())
    assert inventory["files"] and not [f for f in inventory["files"] if f.startswith("reports")]


@pytest.mark.parametrize("out", ["/", "~"])
def test_the_root_and_home_folders_are_refused(tmp_path: Path, out: str) -> None:
    one_line_error(run(Path(os.path.expanduser(out))), "folder", "choose a folder for the reports")


def test_symbolic_links_are_never_written_or_deleted_through(tmp_path: Path, previous: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "a.json").write_text("keep\n")
    out = copy_of(previous, tmp_path / "reports")
    os.rename(out / "inventory", tmp_path / "old-inventory")
    (out / "inventory").symlink_to(victim)
    one_line_error(run(out), "inventory", "symbolic link")
    assert (victim / "a.json").read_text() == "keep\n"
    (out / "inventory").unlink()
    (out / "results.json").unlink()
    (out / "results.json").symlink_to(victim / "a.json")
    one_line_error(run(out), "results.json", "symbolic link")
    assert (victim / "a.json").read_text() == "keep\n"
    link = tmp_path / "link"
    link.symlink_to(victim)
    one_line_error(run(link), "symbolic link", str(victim))
    assert sorted(p.name for p in victim.iterdir()) == ["a.json"]


@pytest.mark.parametrize("command", ["run", "report", "merge"])
def test_an_out_that_is_a_file_or_cannot_be_written_is_a_usage_error(
    tmp_path: Path, previous: Path, command: str
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    # /proc takes no new files, whoever runs the tests (root may write into a read-only mode folder)
    for out, words in ((afile, "not a folder"), (Path("/proc/kitemark"), "cannot write there")):
        if command == "run":
            proc = run(out)
        elif command == "report":
            proc = kitemark("report", str(previous / "results.json"), "--out", str(out))
        else:
            proc = kitemark("merge", str(previous / "results.json"), "--out", str(out))
        one_line_error(proc, str(out), words)


# --- one run at a time --------------------------------------------------------------------------


def test_a_second_run_into_the_same_out_stops_at_once(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    before = snapshot(out)
    holder = OutFolder.open(out)  # this process is "the first run"
    try:
        for proc in (
            run(out),
            kitemark("report", str(out / "results.json")),
            kitemark("merge", str(previous / "results.json"), "--out", str(out)),
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    str(resources.suites_dir()),
                    f"--kitemark-terraform={COMPLIANT_TF}",
                    f"--kitemark-out={out}",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            ),
        ):
            assert f"another Kitemark run (pid {os.getpid()}) is writing there" in proc.stdout + proc.stderr
            assert proc.returncode in (2, 4)  # plain pytest's usage error is 4
        assert snapshot(out) == {**before, LOCK: str(os.getpid()).encode()}
    finally:
        holder.close()
    assert run(out).returncode == 0


# --- a full disk or a kill while writing --------------------------------------------------------


def test_a_full_disk_while_writing_leaves_the_previous_set(tmp_path: Path, previous: Path) -> None:
    out = copy_of(previous, tmp_path / "reports")
    before = snapshot(out)
    assert before[LOCK] == b"", "a lock nobody holds names no pid"
    script = textwrap.dedent(
        f"""
        import errno, sys
        from kitemark import cli, outfolder
        real, calls = outfolder.write_file, []
        def full(path, data):
            calls.append(path)
            if len(calls) == 2:
                with open(path, "wb") as handle:
                    handle.write(data[: len(data) // 2])  # what a full disk leaves behind
                raise OSError(errno.ENOSPC, "No space left on device")
            real(path, data)
        outfolder.write_file = full
        sys.exit(cli.main(["run", "--terraform", {COMPLIANT_TF!r}, "--out", {str(out)!r}, "-n", "0"]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (
        "could not write the reports (No space left on device); the previous ones are unchanged"
        in proc.stdout
    )
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".kitemark-run")) == []


def test_a_full_disk_while_saving_an_inventory_is_one_line_and_keeps_the_previous_set(
    tmp_path: Path, previous: Path
) -> None:
    out = copy_of(previous, tmp_path / "reports")
    before = snapshot(out)
    script = textwrap.dedent(
        f"""
        import errno, pathlib, sys
        from kitemark import cli
        real = pathlib.Path.write_bytes
        def full(self, data):
            if self.parent.name == "inventory":
                raise OSError(errno.ENOSPC, "No space left on device", str(self))
            return real(self, data)
        pathlib.Path.write_bytes = full
        sys.exit(cli.main(["run", "--terraform", {COMPLIANT_TF!r}, "--out", {str(out)!r}, "-n", "0"]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    one_line_error(proc, "cannot save the inventories (No space left on device)", "unchanged")
    assert snapshot(out) == before


def test_a_kill_while_renaming_leaves_a_set_marked_partial_and_no_truncated_file(
    tmp_path: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = copy_of(previous, tmp_path / "reports")
    old_results = (out / "results.json").read_bytes()
    real_replace = os.replace

    def killed_at_results(src: Any, dst: Any) -> None:
        if Path(dst) == out / "results.json":
            raise OSError(errno.EIO, "killed")
        real_replace(src, dst)

    folder = OutFolder.open(out)
    try:
        staging = folder.run_folder(outfolder.new_id())
        monkeypatch.setattr(outfolder.os, "replace", killed_at_results)
        new = {"junit.xml": b"<testsuites/>\n", "results.json": b'{"new": true}\n'}
        with pytest.raises(PublishError, match=r"only partly replaced.*complete: false"):
            folder.publish(new, staging, command="run", run_ids=["x"])
    finally:
        folder.close()
    assert manifest(out)["complete"] is False
    assert (out / "results.json").read_bytes() == old_results  # whole, and the previous run's
    validate(json.loads(old_results))
    assert (out / "junit.xml").read_bytes() == b"<testsuites/>\n"
    monkeypatch.undo()
    # Every file of the mixed set is still Kitemark's: the next run replaces it.
    assert run(out).returncode == 0 and manifest(out)["complete"] is True


def test_reports_are_written_results_json_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real_replace = os.replace

    def record(src: Any, dst: Any) -> None:
        if Path(dst).parent == tmp_path:  # put in place, not staged
            order.append(Path(dst).name)
        real_replace(src, dst)

    folder = OutFolder.open(tmp_path)
    try:
        monkeypatch.setattr(outfolder.os, "replace", record)
        outputs = {"results.json": b"{}\n", "junit.xml": b"<x/>\n", "compliance.html": b"<html/>\n"}
        folder.publish(outputs, folder.run_folder(outfolder.new_id()), command="run", run_ids=[])
    finally:
        folder.close()
    reports = [name for name in order if name in REPORTS]
    assert reports[-1] == "results.json" and len(reports) == 3
    assert order[-1] == MANIFEST  # and the manifest says complete only after it


# --- report and merge inputs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["no such file"]),
        ("folder", ["cannot read it"]),
        (b"\xff\xfe not utf-8", ["not JSON"]),
        (b"key: value\n", ["not JSON"]),
        (b"[1, 2]\n", ["not a Kitemark results document"]),
        (b'{"schema_version": "2.0"}\n', ["not a Kitemark results document"]),
        (b'{"schema_version": "9"}\n', ["not a Kitemark results document"]),
    ],
    ids=["missing", "folder", "not-utf8", "yaml", "list", "incomplete", "unknown-schema"],
)
def test_report_and_merge_refuse_what_is_not_a_results_document(
    tmp_path: Path, content: bytes | str | None, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.json"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    for argv in (["report", str(path)], ["merge", str(path), "--out", str(tmp_path / "merged")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(path) in err, err
        assert all(word in err for word in words), err
    assert not (tmp_path / "merged").exists()


def test_report_of_results_nested_too_deep_is_one_line_and_writes_nothing(
    tmp_path: Path, previous: Path
) -> None:
    deep = tmp_path / "deep"
    deep.mkdir()
    document = json.loads((previous / "results.json").read_text())
    finding = next(f for r in document["results"] for f in r["findings"])
    finding["evidence"] = json.loads("[" * 900 + "]" * 900)
    (deep / "results.json").write_text(json.dumps(document))
    out = tmp_path / "Y"
    line = one_line_error(
        kitemark("report", str(deep / "results.json"), "--out", str(out)), "nested more than"
    )
    assert str(deep / "results.json") in line
    assert not out.exists()


def test_report_of_a_system_folder_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "/etc"]) == 2
    assert capsys.readouterr().err.strip() == "kitemark: error: /etc: cannot read it (Is a directory)"


def test_a_waivers_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_bytes(b"waivers:\n  - id: \xff\n")
    one_line_error(run(tmp_path / "reports", "--waivers", str(waivers)), str(waivers))
    assert not (tmp_path / "reports" / "results.json").exists()


def test_out_folder_checks_need_no_process(tmp_path: Path) -> None:
    """The refusals are usage errors raised before the folder is created."""
    with pytest.raises(UsageError, match="is the folder of the target"):
        OutFolder.open(tmp_path, targets=[("terraform:x", tmp_path)])
    (tmp_path / "a" / "b").mkdir(parents=True)
    with pytest.raises(UsageError, match="holds the target"):
        OutFolder.open(tmp_path, targets=[("terraform:x", tmp_path / "a" / "b")])
    OutFolder.open(tmp_path / "reports", targets=[("terraform:x", tmp_path)]).close()

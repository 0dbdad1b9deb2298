"""The report folder (``--out``): where a run may write, what it may replace or delete there, and that
one run at a time writes to it.

- Refused before anything is written: ``/``, the home folder, a target's own folder or a folder
  holding one (its files would be overwritten or hidden), a file, a symbolic link, and a symbolic
  link among the names Kitemark writes (a write or a delete through it would land elsewhere).
- ``.kitemark.lock`` is held (``flock``) from start to end: a second run into the same folder stops
  at once with a one-line error instead of replacing the first one's outputs under it.
- ``.kitemark-manifest.json`` names every file Kitemark wrote there. Only those are ever replaced or
  deleted; a file Kitemark would write but did not (no manifest names it) is refused, any other file
  is left alone. A folder gets its manifest (naming nothing yet, complete) when Kitemark first marks it
  (``.kitemark-output``), so a command that fails afterwards leaves a folder that claims nothing. A
  folder marked by a Kitemark from before the manifest (``.kitemark-output``, no manifest) is taken as
  Kitemark's for its reports and the inventories its ``results.json`` names, nothing else.
- Publishing writes every output in full (flushed to disk) into the run's own folder first, then
  renames each into place, ``results.json`` last; the manifest says ``complete: false`` while the
  renames run. A full disk therefore leaves the previous set as it was, and a kill a clearly partial
  one, never a truncated file. The next command into the folder says so in one warning line; a command
  whose last manifest write fails raises ``PublishError`` (``is_complete`` tells a caller afterwards).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from kitemark import __version__
from kitemark.core import input_limits, jsonio
from kitemark.core.errors import UsageError
from kitemark.core.resources import OUTPUT_MARKER

MANIFEST = ".kitemark-manifest.json"
LOCK = ".kitemark.lock"
INVENTORY = "inventory"
RUN_FOLDERS = ".kitemark-run-*"
RESULTS = "results.json"


def report_names() -> tuple[str, ...]:
    """The reports every run writes (imported when needed: the renderers are not needed to check a folder)."""
    from kitemark.reports.render import OUTPUTS

    return tuple(OUTPUTS)


class PublishError(Exception):
    """The outputs could not be put in place; the message says what the folder holds now."""


class OutFolder:
    """An ``--out`` folder checked and locked for this process; ``close`` releases it."""

    def __init__(self, path: Path, lock_fd: int, owned: set[str], notes: list[str]) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd
        self.owned = owned  # paths relative to the folder, as the manifest lists them
        self.notes = notes  # what the folder holds that Kitemark leaves alone

    @classmethod
    def open(
        cls,
        out: Path,
        *,
        targets: Iterable[tuple[str, Path]] = (),
        writes: Collection[str] | None = None,
        adopt: Collection[str] = (),
    ) -> OutFolder:
        """Check ``out`` can take the files named in ``writes`` (relative paths), take its lock, and
        mark it as a report folder. ``targets`` are (label, path) of this run's inputs; ``adopt`` names
        files to take as Kitemark's even without a manifest (the renderings beside a results.json)."""
        refuse_unsafe(out, targets)
        writes = report_names() if writes is None else writes
        if out.is_dir():
            _owned(out, writes, adopt)  # a folder refused gets nothing written, not even the lock
        try:
            out.mkdir(parents=True, exist_ok=True)
            fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
        try:
            _lock(fd, out)
            owned, notes = _owned(out, writes, adopt)
            try:
                if not (out / MANIFEST).exists():
                    # The manifest first, then the marker: a marked folder always says what is Kitemark's.
                    _write_manifest(out, None, [], owned, complete=True)
                (out / OUTPUT_MARKER).touch()
            except OSError as exc:
                raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
            _remove_dead_run_folders(out)
        except BaseException:
            os.close(fd)
            raise
        return cls(out, fd, owned, notes)

    def close(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)  # no pid: nobody holds it
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def run_folder(self, run_id: str) -> Path:
        """This run's own folder in ``out``: staging for its outputs, and for the workers' hand-over."""
        folder = self.path / f".kitemark-run-{run_id[:8]}"
        folder.mkdir()
        (folder / "pid").write_text(str(os.getpid()))
        return folder

    def publish(
        self,
        outputs: Mapping[str, bytes],
        staging: Path,
        *,
        command: str,
        run_ids: list[str],
        inventories: Path | None = None,
    ) -> None:
        """Put ``outputs`` (name → content) and the inventories saved in ``inventories`` in place of the
        last ones. With ``inventories``, the inventories of earlier runs it does not replace are removed
        (only files the manifest names). Raises ``PublishError``."""
        out = self.path
        try:
            for name, data in outputs.items():
                write_file(staging / name, data)
            fresh = sorted(p.name for p in inventories.iterdir()) if inventories else []
            for name in fresh:
                _flush(inventories / name)  # type: ignore[operator]
            written = [f"{INVENTORY}/{n}" for n in fresh] + list(outputs)
            refuse_foreign(out, written, self.owned)
            self._manifest(command, run_ids, self.owned | set(written), complete=False)
        except (OSError, UsageError) as exc:
            raise PublishError(
                f"--out {out}: could not write the reports ({_why(exc)}); the previous ones are unchanged"
            ) from None
        try:
            if inventories is not None:
                (out / INVENTORY).mkdir(exist_ok=True)
                for name in fresh:
                    os.replace(inventories / name, out / INVENTORY / name)
            for name in sorted(outputs, key=lambda n: n == RESULTS):  # the source of truth last
                os.replace(staging / name, out / name)
            _flush_folder(out)
            kept = self.owned | set(written)
            if inventories is not None:
                for rel in sorted(self.owned - set(written)):
                    if rel.startswith(f"{INVENTORY}/") and _remove_file(out / rel):
                        kept.discard(rel)
            self._manifest(command, run_ids, kept, complete=True)
            self.owned = kept
        except OSError as exc:
            raise PublishError(
                f"--out {out}: the reports were only partly replaced ({_why(exc)}); {MANIFEST} there "
                "says complete: false"
            ) from None

    def _manifest(self, command: str, run_ids: list[str], files: Iterable[str], complete: bool) -> None:
        _write_manifest(self.path, command, run_ids, files, complete)


def _write_manifest(
    out: Path, command: str | None, run_ids: list[str], files: Iterable[str], complete: bool
) -> None:
    document: dict[str, Any] = {
        "kitemark_manifest": 1,
        "kitemark_version": __version__,
        "command": command,  # None: written when the folder was first marked
        "runs": run_ids,  # the runs whose results the reports hold
        "complete": complete,
        "files": sorted(files),
    }
    write_file(out / MANIFEST, jsonio.dumps(document) + b"\n")


def is_complete(out: Path) -> bool:
    """Whether the manifest in ``out`` says its set of reports is complete (a command whose last
    manifest write failed has put some reports in place, and must not end as if it had not)."""
    try:
        return jsonio.load_document((out / MANIFEST).read_bytes()).get("complete") is True
    except (OSError, ValueError, AttributeError):
        return False


def new_id() -> str:
    return str(uuid.uuid4())


def refuse_unsafe(out: Path, targets: Iterable[tuple[str, Path]]) -> None:
    """The folders no report may go to, decided from paths alone (nothing is created yet)."""
    if out.is_symlink():
        raise UsageError(f"--out {out}: is a symbolic link; pass the folder it points to ({out.resolve()})")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    where = out.resolve()
    if where == Path(where.anchor):
        raise UsageError(f"--out {out}: is the root folder; choose a folder for the reports")
    if where == _home():
        raise UsageError(f"--out {out}: is the home folder; choose a folder for the reports")
    for label, target in targets:
        if not os.path.lexists(target):
            continue
        found = target.resolve()
        if where == found or where in found.parents:
            why = (
                "is the folder of the target {label} ({target}): the reports would be written among its "
                "files and read back as input"
                if where == found
                # Reports are replaced as a set (inventory/ included), so inputs inside the report
                # folder could be overwritten by one run and read as reports by the next.
                else "holds the target {label} ({target}): reports and the inputs they judge must be "
                "kept in separate folders"
            )
            raise UsageError(f"--out {out}: {why.format(label=label, target=target)}; choose another --out")


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError):  # no HOME and no user entry: no home folder to protect
        return None


def _lock(fd: int, out: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        who = f"another Kitemark run (pid {holder})" if holder.isdigit() else "another Kitemark run"
        raise UsageError(
            f"--out {out}: {who} is writing there; wait for it to end or choose another --out"
        ) from None
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot lock {LOCK} ({exc.strerror or exc})") from None
    pid = str(os.getpid()).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, pid, 0)


def _owned(out: Path, writes: Collection[str], adopt: Collection[str]) -> tuple[set[str], list[str]]:
    """The files in ``out`` Kitemark wrote (from the manifest), after refusing links and foreign files
    among the names this run writes; with notes on the files it leaves alone."""
    reports = report_names()
    for name in (*reports, MANIFEST, OUTPUT_MARKER, INVENTORY, *writes):
        path = out / name
        if path.is_symlink():
            raise UsageError(
                f"--out {out}: {name} there is a symbolic link; Kitemark never writes or deletes through "
                "one: remove it or choose another --out"
            )
        if name != INVENTORY and path.is_dir():
            raise UsageError(f"--out {out}: {name} there is a folder; remove it or choose another --out")
    inventory = out / INVENTORY
    if inventory.exists() and not inventory.is_dir():
        raise UsageError(f"--out {out}: {INVENTORY} there is not a folder; remove it or choose another --out")
    listed = sorted(p.name for p in inventory.iterdir()) if inventory.is_dir() else []
    found = _read_manifest(out)
    notes: list[str] = []
    if found is None:
        owned = set(adopt)
        if (out / OUTPUT_MARKER).is_file():  # an earlier Kitemark's folder, from before the manifest
            owned |= set(reports) | _legacy_inventories(out)
    else:
        owned, complete = found
        if not complete:
            notes.append(
                f"warning: --out {out}: the previous reports there were left partial ({MANIFEST} says "
                "complete: false): some may be from an older run than the rest; this command replaces them"
            )
    owned = {rel for rel in owned if os.path.lexists(out / rel)}
    refuse_foreign(out, writes, owned)
    foreign = [f"{INVENTORY}/{n}" for n in listed if f"{INVENTORY}/{n}" not in owned]
    if foreign:
        notes.append(f"--out {out}: left alone, not written by Kitemark: {', '.join(foreign[:5])}")
    return owned, notes + ([f"…and {len(foreign) - 5} more"] if len(foreign) > 5 else [])


def _legacy_inventories(out: Path) -> set[str]:
    """The inventories the ``results.json`` of a folder from before the manifest names as its own
    (``inventory/<name>.json``, relative to it); none when it is not a readable results document."""
    try:
        document = jsonio.load_document(input_limits.read_bytes(out / RESULTS))
        named = {t.get("inventory") for t in document["targets"] if isinstance(t, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    return {rel for rel in named if isinstance(rel, str) and _is_inventory_name(rel)}


def refuse_foreign(out: Path, names: Iterable[str], owned: Collection[str]) -> None:
    for name in names:
        if os.path.lexists(out / name) and name not in owned:
            raise UsageError(
                f"--out {out}: {name} there was not written by Kitemark ({MANIFEST} does not name it); "
                "move it away or choose another --out"
            )


def _read_manifest(out: Path) -> tuple[set[str], bool] | None:
    """The files the manifest names (only names Kitemark writes) and whether it says complete."""
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        document = jsonio.load_document(path.read_bytes())
        files = document["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise TypeError("files is not a list of names")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--out {out}: {MANIFEST} there is not a Kitemark manifest ({_why(exc)}); delete it or choose "
            "another --out"
        ) from None
    # Only names Kitemark writes: a manifest cannot make it touch anything else.
    files = {f for f in files if f in report_names() or _is_inventory_name(f)}
    return files, document.get("complete") is not False


def _is_inventory_name(rel: str) -> bool:
    folder, _, name = rel.partition("/")
    return folder == INVENTORY and name.endswith(".json") and "/" not in name and name not in ("", ".", "..")


def _remove_dead_run_folders(out: Path) -> None:
    """The folders of earlier runs that were killed before cleaning up (never through a link)."""
    for folder in out.glob(RUN_FOLDERS):
        if folder.is_dir() and not folder.is_symlink() and not _alive(folder / "pid"):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid_file: Path) -> bool:
    """Whether the run that owns a run folder is still going (a folder without a pid is kept)."""
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError) as exc:
        return isinstance(exc, PermissionError) or not pid_file.exists()
    return True


def _remove_file(path: Path) -> bool:
    """Delete a file Kitemark wrote: a regular file only, never what a link points to."""
    if path.is_symlink() or not path.is_file():
        return False
    path.unlink()
    return True


def write_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically and flushed to disk: a reader sees the old file or the whole new one,
    and a full disk is reported here rather than left for a later reader to find."""
    from kitemark.results import write_atomic

    write_atomic(path, data, durable=True)


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_folder(folder: Path) -> None:
    """Make the renames durable (a power cut must not bring back the old names)."""
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; the renames are done
        _flush(folder)


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)

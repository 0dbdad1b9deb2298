"""``kitemark snapshot --context C -o DIR``: read a live cluster as a run would (every type any
cluster check reads, redacted at collection) and write it as an archivable folder (``manifest``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kitemark.core.errors import UsageError
from kitemark.reports.safe_text import for_terminal
from kitemark.targets.cluster.kind import KIND
from kitemark.targets.cluster.live.collect import collect_live
from kitemark.targets.cluster.manifest import MANIFEST, write_snapshot

EXIT_COMPLETE, EXIT_INCOMPLETE = 0, 1


def take_snapshot(context: str, kubeconfig: str | None, out: Path, name: str | None = None) -> int:
    """0 when every type was listed, 1 when some could not be (each said on stderr and in the
    manifest); a ``UsageError`` for a bad kubeconfig or output folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"-o {out}: exists and is not an empty directory")
    spec = KIND.live_spec(context, kubeconfig, name or "")
    reads = KIND.all_reads()
    print(
        f"kitemark: reading {len(reads)} resource kinds from context {spec.options['resolved']} …",
        file=sys.stderr,
    )
    started = time.perf_counter()
    inventory = collect_live(spec, reads)
    if any(e.get("everywhere") and not e.get("types") for e in inventory["errors"]):
        # Nothing (or nothing trustworthy) was read; collect_live has said why. No folder to archive.
        print(
            f"kitemark: no snapshot written: the cluster could not be read ({out} is left as it was)",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    try:
        manifest = write_snapshot(inventory, out)
    except OSError as exc:  # a full disk, a folder made read-only meanwhile: one line, not a traceback
        raise UsageError(f"-o {out}: cannot write the snapshot: {exc.strerror or exc}") from None
    for error in manifest["errors"]:
        print(
            f"kitemark: not in the snapshot: {for_terminal(error['path'])}: {for_terminal(error['message'])}",
            file=sys.stderr,
        )
    print(
        f"kitemark: wrote {manifest['objects']:,} objects of {len(manifest['files'])} resource types "
        f"from {manifest['server']} ({manifest['server_version']}) to {out} in "
        f"{time.perf_counter() - started:.1f}s; manifest: {out / MANIFEST}",
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE if manifest["errors"] else EXIT_COMPLETE

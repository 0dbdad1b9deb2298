"""Serial against parallel `kitemark run` on a synthetic cluster snapshot, measured in the same run.

    python bench/bench_parallel.py [--namespaces 300] [--repeat 2]

Builds a snapshot of N team namespaces by cloning the demo's namespaces under new names, then times
`kitemark run --cluster snapshot:DIR` with `-n 0` and `-n 2` (wall clock, best of --repeat), and prints
a table with the ratio against the serial run. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kitemark.core import resources

DEMO_NAMESPACES = resources.demo_dir() / "cluster" / "namespaces" / "laa-apply-production"


def build_snapshot(root: Path, count: int) -> int:
    """Write `count` copies of one demo team namespace, renamed; return the number of objects."""
    template = [
        doc
        for path in sorted(DEMO_NAMESPACES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    objects = 0
    for n in range(count):
        name = f"bench-team-{n:04d}"
        docs = json.loads(json.dumps(template).replace("laa-apply-production", name))
        (root / f"{name}.yaml").write_text(yaml.safe_dump_all(docs))
        objects += len(docs)
    return objects


def time_run(snapshot: Path, workers: str, repeat: int) -> tuple[float, int]:
    best, results = float("inf"), 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kitemark",
                    "run",
                    "--cluster",
                    f"snapshot:{snapshot}",
                    "--out",
                    out,
                    "-n",
                    workers,
                    "-q",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            best = min(best, time.perf_counter() - started)
            results = len(json.loads((Path(out) / "results.json").read_text())["results"])
    return best, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp)
        objects = build_snapshot(snapshot, args.namespaces)
        rows = [(workers, *time_run(snapshot, workers, args.repeat)) for workers in ("0", "2")]
    serial = rows[0][1]
    print(f"snapshot: {args.namespaces} team namespaces, {objects} objects; best of {args.repeat}")
    print(f"{'workers':>8} {'wall s':>8} {'results':>8} {'vs -n 0':>8}")
    for workers, seconds, results in rows:
        print(f"{workers:>8} {seconds:>8.2f} {results:>8} {seconds / serial:>7.2f}x")


if __name__ == "__main__":
    main()

"""Kitemark at platform scale: whole runs on generated clusters, serial against parallel.

    python bench/bench_scale.py [--sizes 500,1000,1500] [--pods-per-1500 20000] [--repeat 2]

For each size it generates a snapshot (bench/generate_cluster.py: MoJ-style team namespaces with
Deployments, ReplicaSets and Pods, as `kubectl get -o json` lists), then times `kitemark run
--cluster` with every cluster check, all reports included, with `-n 0` and `-n 2` (best of --repeat,
wall clock), and prints:

- the whole run per size, and the ratio of `-n 2` against `-n 0` measured in the same run;
- each check's own time per 1,000 namespaces at every size (linear growth keeps it flat);
- where a serial run's time goes: collection, building the views checks read, the checks' own time,
  Kitemark's harness per result (pytest items, the evaluation wrapper, handing results over, waivers)
  and the rest (start-up, verdicts and every report);
- the bundled demo with `-n 0` against the default `-n auto`.

It prints; it asserts nothing (a timing never fails a test).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from generate_cluster import generate


def run(args: list[str], out: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kitemark", "run", *args, "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    results = out / "results.json"
    if not results.is_file():
        raise SystemExit(
            f"kitemark run {' '.join(args)} wrote no results:\n{proc.stdout[-2000:]}{proc.stderr}"
        )
    return wall, json.loads(results.read_text())


def best(args: list[str], repeat: int, tmp: Path) -> tuple[float, dict[str, Any]]:
    timings = []
    for attempt in range(repeat):
        timings.append(run(args, tmp / f"out-{time.monotonic_ns()}-{attempt}"))
    return min(timings, key=lambda t: t[0])


def check_seconds(document: dict[str, Any]) -> dict[str, float]:
    """Each check's own evaluation time, summed over its results (measured inside the workers)."""
    found: dict[str, float] = defaultdict(float)
    for result in document["results"]:
        found[result["check_id"]] += result["duration"]
    return dict(found)


def collect_seconds(document: dict[str, Any]) -> float:
    return sum(t.get("collect_seconds", 0.0) for t in document["targets"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,1500", help="namespaces per generated cluster")
    parser.add_argument("--pods-per-1500", type=int, default=20000, help="pods at 1,500 namespaces")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        fixed = best(["--cluster", f"one=snapshot:{_snapshot(tmp, 1, 14)}", "-n", "0"], args.repeat, tmp)[0]
        rows = []
        for size in sizes:
            pods = args.pods_per_1500 * size // 1500
            snapshot = _snapshot(tmp, size, pods)
            target = ["--cluster", f"big=snapshot:{snapshot}"]
            serial, document = best([*target, "-n", "0"], args.repeat, tmp)
            parallel, _ = best([*target, "-n", "2"], args.repeat, tmp)
            rows.append((size, pods, serial, parallel, document))
        demo_serial = best(["-n", "0"], args.repeat, tmp)[0]
        demo_auto = best([], args.repeat, tmp)[0]
    _print(rows, fixed, demo_serial, demo_auto)


def _snapshot(tmp: Path, namespaces: int, pods: int) -> Path:
    folder = tmp / f"cluster-{namespaces}"
    generate(folder, namespaces, pods)
    return folder


def _print(rows: list[Any], fixed: float, demo_serial: float, demo_auto: float) -> None:
    print(f"fixed cost of a run (one namespace, -n 0): {fixed:.2f} s\n")
    print("Whole run (collect from snapshot, every cluster check, every report), best wall clock:")
    print(f"{'namespaces':>10} {'pods':>6} {'results':>7} {'-n 0 s':>7} {'-n 2 s':>7} {'-n 2 / -n 0':>11}")
    for size, pods, serial, parallel, document in rows:
        total = len(document["results"])
        print(f"{size:>10} {pods:>6} {total:>7} {serial:>7.2f} {parallel:>7.2f} {parallel / serial:>10.2f}x")
    checks = sorted({cid for *_, document in rows for cid in check_seconds(document)})
    print("\nEach check's own time per 1,000 namespaces (ms), from results.json durations (-n 0):")
    print(f"{'check':>14} " + " ".join(f"{size:>9}" for size, *_ in rows))
    for cid in checks:
        cells = [1000 * check_seconds(d).get(cid, 0.0) / (size / 1000) for size, *_, d in rows]
        print(f"{cid:>14} " + " ".join(f"{c:>9.1f}" for c in cells))
    print("\nWhere a serial run's time goes (-n 0), from results.json's phase timings:")
    print(
        f"{'namespaces':>10} {'collect s':>9} {'views s':>7} {'checks s':>8} {'harness s':>9} "
        f"{'other s':>7} {'harness µs/result':>17}"
    )
    for size, _, serial, _, document in rows:
        timings = document["runs"][0]["timings"]
        own = sum(check_seconds(document).values())
        harness = timings["evaluate"] - timings.get("units", 0.0) - own
        other = serial - timings["collect"] - timings["evaluate"]
        total = len(document["results"])
        print(
            f"{size:>10} {timings['collect']:>9.2f} {timings.get('units', 0.0):>7.2f} {own:>8.2f} "
            f"{harness:>9.2f} {other:>7.2f} {1e6 * harness / total:>17.0f}"
        )
    print(
        "harness: pytest items, evaluation wrapper, results hand-over, waivers (per result); views: the\n"
        "typed views checks read, built once per scope; other: start-up, verdicts and every report."
    )
    print(f"\nThe bundled demo: -n 0 {demo_serial:.2f} s, default (-n auto) {demo_auto:.2f} s "
          f"({demo_auto / demo_serial:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()

"""How many pytest-xdist workers ``-n auto`` (the default) gives a Kitemark run: as many as the
cores, but only when the checks' work outweighs what workers cost to start, and none otherwise.

A worker costs ~2 s to start on 2 cores (interpreter, imports, loading the saved inventory: see
bench/bench_scale.py) and saves half the checks' own time. Each kind estimates its evaluation work
from the size of its targets (``TargetKind.work``); measured on a 1,500-namespace snapshot, the five
cluster checks took 1.1 s, so parallel runs start to pay with several times more checks or namespaces.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from kitemark.core.catalog import Catalogue, suites_roots
from kitemark.core.errors import UsageError
from kitemark.core.kinds import get_kind
from kitemark.options import run_options

WORKER_START_SECONDS = 2.0
LOAD_SECONDS_PER_BYTE = 1.5e-8  # a worker reading back a saved inventory (orjson, GC paused)


def auto_workers(config: pytest.Config) -> int:
    try:
        options = run_options(config)
        checks = Counter(c.kind for c in Catalogue.load(suites_roots()).checks.values())
    except (UsageError, OSError, ValueError):
        return 0  # the run will report the problem itself, in process
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2:
        return 0
    evaluate = 0.0
    inventory = 0
    try:
        for spec in options.specs:
            seconds_per_check, size = get_kind(spec.kind).work(spec)
            evaluate += seconds_per_check * checks[spec.kind]
            inventory += size
    except OSError:  # a file gone or unreadable: the collector reports it, in process
        return 0
    saved = evaluate * (1 - 1 / cores)
    cost = WORKER_START_SECONDS + inventory * LOAD_SECONDS_PER_BYTE
    return cores if saved > cost else 0

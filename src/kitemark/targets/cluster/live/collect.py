"""A live cluster → the cluster inventory: discover, list every type concurrently, then the
snapshot's own stage 2 (redaction, validation, sorting) over the pages.

A type that cannot be listed (403, its CRD absent, the server failing after retries) is an error of
that type only: the checks that read it report *error* with the call, the reason and, for a 403, the
RBAC rule that is missing; the other checks go on. A cluster that cannot be reached at all is an
error of every check."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kitemark.core.jsonio import paused_gc
from kitemark.core.kinds import InputError, Inventory, TargetSpec
from kitemark.targets.cluster.collect import build_inventory
from kitemark.targets.cluster.files import Document, FileProblem
from kitemark.targets.cluster.live.api import ApiFailure, ApiReader, RetryPolicy
from kitemark.targets.cluster.live.connect import Connection, Target
from kitemark.targets.cluster.live.discovery import Resource, Unlisted, discover
from kitemark.targets.cluster.live.lister import Listing, list_all

MAX_CONCURRENT = 6  # lists in flight: enough to hide latency, few enough not to be throttled
SLOW = 5.0  # a type taking longer than this is reported as it finishes (progress on big clusters)


def target_of(spec: TargetSpec) -> Target:
    return Target(str(spec.options.get("context") or ""), spec.options.get("kubeconfig") or None)


def collect_live(
    spec: TargetSpec,
    reads: Iterable[str],
    *,
    policy: RetryPolicy | None = None,
    connection: Connection | None = None,
    log: Callable[[str], None] | None = None,
) -> Inventory:
    """Read ``reads`` from the cluster of ``spec`` into an inventory (``mode`` "live")."""
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    target = target_of(spec)
    context = str(spec.options.get("resolved") or spec.options.get("context") or "")
    own = connection is None
    conn = connection or Connection(target, context)
    reader = ApiReader(conn.transport, policy)
    started = time.perf_counter()
    problems: list[FileProblem] = []
    listings: list[Listing] = []
    unlisted: list[Unlisted] = []
    version: dict[str, Any] = {}
    # No garbage collection while pages are parsed and objects built: millions of objects that live
    # until the run ends, which the collector would otherwise walk again and again (as a snapshot's).
    with paused_gc():
        try:
            version = _version(reader)
            resources, unlisted = discover(reader, reads)
            listings, failed = _list_concurrently(reader, resources, say)
            unlisted += failed
        except ApiFailure as failure:  # the cluster itself: unreachable, credentials refused, discovery
            message = f"cannot read the cluster: {_hint(failure)}"
            problems.append(_everywhere(f"GET {failure.path}", message, ()))
            say(f"kitemark:   {conn.server}: GET {failure.path}: {message}")  # once, before every check
        finally:
            if own:
                conn.close()
        problems += [
            _everywhere(u.path, f"cannot list {u.read}: {u.reason}", (u.read,)) for u in unlisted if u.gap
        ]
        documents = [
            Document(f"GET {listing.resource.path}", number, None, page)
            for listing in listings
            for number, page in enumerate(listing.pages, start=1)
        ]
        inventory = build_inventory(spec, documents, files=[], problems=problems, skipped=[], mode="live")
    inventory["sources"] = [None] * len(inventory["objects"])  # an API read has no file to point at
    inventory["from_api"] = True
    inventory["api"] = {
        "server": conn.server,
        "context": conn.context,
        "server_version": version.get("gitVersion", ""),
        "read_in_seconds": round(time.perf_counter() - started, 3),
        "requests": reader.requests,
        "retries": reader.retries,
        "resources": [_listed(listing) for listing in listings],
        "not_listed": [
            {"read": u.read, "call": u.path, "reason": u.reason, "error": u.gap} for u in unlisted
        ],
    }
    return inventory


def _version(reader: ApiReader) -> dict[str, Any]:
    data = reader.get("/version")
    return data if isinstance(data, dict) else {}


def _list_concurrently(
    reader: ApiReader, resources: list[Resource], say: Callable[[str], None]
) -> tuple[list[Listing], list[Unlisted]]:
    def one(resource: Resource) -> Listing | Unlisted:
        began = time.perf_counter()
        try:
            listing = list_all(reader, resource)
        except ApiFailure as failure:
            return Unlisted(resource.read, _hint(failure, resource), True, f"GET {failure.path}")
        took = time.perf_counter() - began
        if took > SLOW:
            say(
                f"kitemark:   listed {listing.count:,} {resource.plural} "
                f"({resource.api_version}) in {took:.1f}s"
            )
        return listing

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_CONCURRENT, len(resources)))) as pool:
        outcomes = list(pool.map(one, resources))
    listings = [o for o in outcomes if isinstance(o, Listing)]
    return listings, [o for o in outcomes if isinstance(o, Unlisted)]


def _hint(failure: ApiFailure, resource: Resource | None = None) -> str:
    """The failure, and what to do about the usual ones (the call is named beside it)."""
    text = failure.reason
    if failure.status == 403 and resource is not None:
        return f"{text} (the reader needs the RBAC rule {{{resource.rule()}}}: see deploy/rbac.yaml)"
    if failure.status == 401:
        return f"{text} (the credentials were refused: an expired token or certificate?)"
    return text


def _everywhere(path: str, message: str, types: tuple[str, ...]) -> FileProblem:
    """An error of every unit (every namespace and the cluster), for the checks reading ``types``
    (all checks when empty)."""
    error = InputError(path, message, file=False, types=types, everywhere=True)
    return FileProblem(error, placed=True)


def _listed(listing: Listing) -> dict[str, Any]:
    r = listing.resource
    return {
        "read": r.read,
        "kind": r.kind,
        "api_version": r.api_version,
        "resource": r.plural,
        "namespaced": r.namespaced,
        "objects": listing.count,
        "requests": listing.requests,
        "restarts": listing.restarts,
    }

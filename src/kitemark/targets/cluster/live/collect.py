"""A live cluster → the cluster inventory: discover, list every type concurrently, then the
snapshot's own stage 2 (redaction, validation, sorting) over the pages.

A type that cannot be listed (403, its CRD absent, the server failing after retries) is an error of
that type only: the checks that read it report *error* with the call, the reason and, for a 403, the
RBAC rule that is missing; the other checks go on. A cluster that cannot be reached at all is an
error of every check."""

from __future__ import annotations

import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kitemark.core.input_limits import MAX_DEPTH
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
    server = without_userinfo(conn.server)
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
            message = f"cannot read the cluster: {_hint(failure)}{_credentials(conn)}"
            problems.append(_everywhere(f"GET {failure.path}", message, ()))
            say(f"kitemark:   {server}: GET {failure.path}: {message}")  # once, before every check
        except Exception as exc:  # an answer no rule above expected: an error of the run, never a crash
            message = f"cannot read the cluster: {_unexpected(exc)}"
            problems.append(_everywhere("discovery", message, ()))
            say(f"kitemark:   {server}: {message}")
        finally:
            if own:
                conn.close()
        if _credentials(conn) and not problems:  # e.g. an exec plugin failed: the read was anonymous
            message = f"cannot read the cluster as the kubeconfig's user{_credentials(conn)}"
            problems.append(_everywhere("credentials", message, ()))
            say(f"kitemark:   {server}: {message}")
        problems += [
            _everywhere(u.path, f"cannot list {u.read}: {u.reason}", (u.read,)) for u in unlisted if u.gap
        ]
        problems += [_too_deep(listing, obj) for listing in listings for obj in listing.too_deep]
        documents = [
            Document(f"GET {listing.resource.path}", number, None, page)
            for listing in listings
            for number, page in enumerate(listing.pages, start=1)
        ]
        inventory = build_inventory(spec, documents, files=[], problems=problems, skipped=[], mode="live")
    # An object stage 2 refused (an item of a list that is not an object) is an error of the checks
    # reading its type, located at the call, not a file.
    read_of = {f"GET {listing.resource.path}": listing.resource.read for listing in listings}
    for error in inventory["errors"]:
        if error["path"] in read_of and not error.get("types"):
            error.update(types=[read_of[error["path"]]], file=False, line=None)
    inventory["sources"] = [None] * len(inventory["objects"])  # an API read has no file to point at
    inventory["from_api"] = True
    inventory["api"] = {
        "server": server,
        "context": conn.context,
        "server_version": version.get("gitVersion", ""),
        "read_in_seconds": round(time.perf_counter() - started, 3),
        "reads": sorted(reads),
        "requests": reader.requests,
        "retries": reader.retries,
        "resources": [_listed(listing) for listing in listings],
        "not_listed": [
            {"read": u.read, "call": u.path, "reason": u.reason, "error": u.gap} for u in unlisted
        ],
    }
    return inventory


def _version(reader: ApiReader) -> dict[str, Any]:
    """The server's version, for the report; a server that will not say is still read (401 aside:
    credentials refused here are refused everywhere)."""
    try:
        data = reader.get("/version")
    except ApiFailure as failure:
        if failure.status in (0, 401):
            raise
        return {}
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
        except Exception as exc:  # never a crash of the run: an error of the checks reading this type
            return Unlisted(resource.read, _unexpected(exc), True, f"GET {resource.path}")
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


def _too_deep(listing: Listing, obj: dict[str, Any]) -> FileProblem:
    """An object nested deeper than a snapshot file may be: an error of its namespace (or the cluster),
    as a too-deep file is an error of the namespaces it holds."""
    r = listing.resource
    where = f"{obj['namespace']}/{obj['name']}" if obj.get("namespace") else obj["name"]
    message = f"{r.kind} {where}: nested more than {MAX_DEPTH} levels deep (the limit); not read"
    namespaces = {str(obj["namespace"])} if obj.get("namespace") else set()
    return FileProblem(InputError(f"GET {r.path}", message, file=False), namespaces, placed=True)


def without_userinfo(url: str) -> str:
    """A server URL without ``user:password@`` (a kubeconfig may carry one): it is shown in reports."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _credentials(conn: Connection) -> str:
    problem = getattr(conn, "credential_problem", None)  # a test's stand-in connection has none
    return str(problem()) if callable(problem) else ""


def _unexpected(exc: BaseException) -> str:
    """An exception no rule expected, named by its type only: its text may quote a request's headers
    (a token with a line break is refused by urllib3 quoting the whole `Bearer` value)."""
    hint = " (a token with a line break in the kubeconfig's tokenFile?)"
    hint = hint if isinstance(exc, ValueError) else ""
    return f"unexpected {type(exc).__name__}; its text is not shown, as it may quote credentials{hint}"

"""Every object of one resource type, page by page (``limit``/``continue``).

A ``continue`` token expires when etcd compacts past it (``410 Gone``): the list starts again from
the first page, since pages of two different moments would mix versions of the cluster. Pages are
kept as the API returned them (``PodList`` documents); stage 2 of the collector flattens them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kitemark.core import input_limits, jsonio
from kitemark.targets.cluster.live.api import ApiFailure, ApiReader
from kitemark.targets.cluster.live.discovery import Resource

PAGE_SIZE = 500  # kubectl's own chunk size
MAX_RESTARTS = 3
# Bounds on one type's list, so no server can hold a run forever: 10,000 pages is 5 million objects,
# far beyond any cluster (1,500 namespaces, 20,000 pods list in seconds).
MAX_PAGES = 10_000
LIST_DEADLINE = 30 * 60


@dataclass
class Listing:
    resource: Resource
    pages: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    requests: int = 0
    restarts: int = 0
    too_deep: list[dict[str, Any]] = field(default_factory=list)  # objects refused, as file inputs are


def list_all(reader: ApiReader, resource: Resource, page_size: int = PAGE_SIZE) -> Listing:
    """Every page of ``resource``; an ``ApiFailure`` when a page cannot be had (after retries, or
    after ``MAX_RESTARTS`` restarts on an expired token)."""
    listing = Listing(resource)
    token = ""
    seen: set[str] = set()
    deadline = time.monotonic() + LIST_DEADLINE
    while True:
        if len(listing.pages) >= MAX_PAGES or time.monotonic() > deadline:
            pages = len(listing.pages) >= MAX_PAGES
            limit = f"{MAX_PAGES:,} pages" if pages else f"{LIST_DEADLINE // 60} minutes"
            raise ApiFailure(resource.path, 200, f"the list did not end within {limit} (the limit)")
        query = [("limit", str(page_size))] + ([("continue", token)] if token else [])
        listing.requests += 1
        try:
            page = reader.get(resource.path, query)
        except ApiFailure as failure:
            if failure.status != 410 or not token:
                raise
            if listing.restarts >= MAX_RESTARTS:
                reason = f"{failure.message} (the list was restarted {listing.restarts} times)"
                raise ApiFailure(failure.path, 410, reason) from None
            listing.restarts += 1
            listing.pages, listing.count, token = [], 0, ""
            seen.clear()
            continue
        if not isinstance(page, dict) or "items" not in page or not isinstance(page["items"], list | None):
            raise ApiFailure(resource.path, 200, "the answer is not a list (no `items`)")
        items = _within_depth(page.get("items") or [], listing)
        page["items"] = items
        # Raw API lists leave kind/apiVersion off their items: stage 2 takes them from the list.
        page["kind"], page["apiVersion"] = f"{resource.kind}List", resource.api_version
        listing.pages.append(page)
        listing.count += len(items)
        metadata = page.get("metadata")
        previous, token = token, str(metadata.get("continue") or "") if isinstance(metadata, dict) else ""
        if not token:
            return listing
        if token == previous or token in seen:  # a server (or proxy) going round in circles never ends
            raise ApiFailure(resource.path, 200, "the server gave the same continue token twice")
        seen.add(token)


def _within_depth(items: list[Any], listing: Listing) -> list[Any]:
    """The items nested no deeper than a snapshot file may be (``input_limits.MAX_DEPTH``); the others
    are kept aside (their identity only) to be reported as input errors, as a too-deep file is."""
    try:
        jsonio.check_written_depth(items)
        return items
    except jsonio.InvalidJSON:
        pass
    kept = []
    for item in items:
        try:
            input_limits.check_depth(item)
        except input_limits.LimitExceeded:
            meta = item.get("metadata") if isinstance(item, dict) else None
            meta = meta if isinstance(meta, dict) else {}
            name, namespace = str(meta.get("name", "?"))[:253], meta.get("namespace")
            listing.too_deep.append({"name": name, "namespace": namespace})
            continue
        kept.append(item)
    return kept

"""One Kubernetes object as checks read it, and the lookups every view shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kitemark.core.labels import label_value
from kitemark.core.mappings import dig
from kitemark.targets.cluster.scoping import group_of


@dataclass(frozen=True)
class KObject:
    """One Kubernetes object, with the snapshot file it came from (``None`` for a live read).
    ``defaulted``: it named no namespace and was placed in the target's default namespace."""

    raw: Mapping[str, Any]
    source: str | None = None
    defaulted: bool = False
    # Read on every grouping and lookup of a large snapshot: taken from ``raw`` once, when made
    # (cheaper than a cached property, whose first read takes a lock).
    kind: str = field(init=False, compare=False, repr=False)
    name: str = field(init=False, compare=False, repr=False)
    namespace: str | None = field(init=False, compare=False, repr=False)
    group: str = field(init=False, compare=False, repr=False)  # API group; "" for the core group

    def __post_init__(self) -> None:
        meta = self.raw.get("metadata")
        if not isinstance(meta, (dict, Mapping)):
            meta = {}
        name, ns = meta.get("name"), meta.get("namespace")
        # A frozen dataclass's own fields, set once here (one update instead of four __setattr__).
        self.__dict__.update(
            kind=str(self.raw.get("kind", "")),
            name="" if name is None else str(name),
            namespace=str(ns) if ns else None,
            group=group_of(self.raw.get("apiVersion")),
        )

    @property
    def api_version(self) -> str:
        return str(self.raw.get("apiVersion", ""))

    @property
    def labels(self) -> dict[str, str]:
        labels = dig(self.raw, "metadata", "labels")
        return {str(k): label_value(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}

    @property
    def annotations(self) -> dict[str, str]:
        notes = dig(self.raw, "metadata", "annotations")
        return {str(k): label_value(v) for k, v in notes.items()} if isinstance(notes, Mapping) else {}

    @property
    def owner_references(self) -> list[Mapping[str, Any]]:
        refs = dig(self.raw, "metadata", "ownerReferences")
        return [r for r in refs if isinstance(r, Mapping)] if isinstance(refs, list) else []

    @property
    def ref(self) -> str:
        """Stable identity for findings: ``Kind/namespace/name`` or ``Kind/name`` (cluster-scoped)."""
        ns = self.namespace
        return f"{self.kind}/{ns}/{self.name}" if ns else f"{self.kind}/{self.name}"

    def is_a(self, kind: str, *groups: str) -> bool:
        """Whether this is a ``kind`` of one of ``groups`` (``""``: the core group): a kind name alone
        does not say what an object is (Calico and Antrea have a NetworkPolicy of their own)."""
        return self.kind == kind and self.group in groups

    def get(self, *path: str, default: Any = None) -> Any:
        return dig(self.raw, *path, default=default)

"""Stage 2 of the cluster collector: raw documents → the inventory's objects.

Redacts secrets (``redaction``: before anything else reads a document), flattens ``List`` kinds,
skips what is not a Kubernetes object (with the reason), validates, places namespaced objects that
name no namespace in the target's default namespace (as kubectl does), de-duplicates and sorts. A
live reader feeds its raw API lists in here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kitemark.core.kinds import InputError
from kitemark.targets.cluster import classify
from kitemark.targets.cluster.files import Document, FileProblem
from kitemark.targets.cluster.redaction import redact_document
from kitemark.targets.cluster.scoping import CLUSTER_SCOPED_KINDS, Scoping, cluster_scoped_crds, group_of

KIND = re.compile(r"[A-Z][-A-Za-z0-9]*")
# A custom resource's kind is its CRD's `names.kind`, which the API server takes in any case (its
# lower-case form must be a DNS label): Gatekeeper constraint kinds are chosen by a template's author,
# and the MoJ Cloud Platform's `k8sservicetypeloadbalancer` is one.
CUSTOM_KIND = re.compile(r"[A-Za-z][-A-Za-z0-9]*")
# Kubernetes' own API groups (core, `apps` …, `*.k8s.io`, `*.kubernetes.io`, the groups a CRD may use
# only with the project's approval): their kinds are CamelCase, so a lower-case one is a mistake.
RESERVED_GROUP_SUFFIXES = (".k8s.io", ".kubernetes.io")
# Namespaced kinds of Kubernetes itself: with the cluster-scoped ones, how a mis-cased kind is corrected.
NAMESPACED_KINDS = (
    "Binding",
    "ConfigMap",
    "ControllerRevision",
    "CronJob",
    "CSIStorageCapacity",
    "DaemonSet",
    "Deployment",
    "Endpoints",
    "EndpointSlice",
    "Event",
    "HorizontalPodAutoscaler",
    "Ingress",
    "Job",
    "Lease",
    "LimitRange",
    "LocalSubjectAccessReview",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "Pod",
    "PodDisruptionBudget",
    "PodTemplate",
    "ReplicaSet",
    "ReplicationController",
    "ResourceClaim",
    "ResourceClaimTemplate",
    "ResourceQuota",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
    "List",
)
_KNOWN_KINDS = {kind.casefold(): kind for kind in (*NAMESPACED_KINDS, *CLUSTER_SCOPED_KINDS)}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass
class Objects:
    objects: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # where objects[i] was read (`file:line`)
    files: list[str] = field(default_factory=list)  # the file objects[i] was read from
    defaulted: list[int] = field(default_factory=list)  # indices placed in the default namespace
    problems: list[FileProblem] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    scoping: Scoping = field(default_factory=Scoping)


def ref_of(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']}/{ns}/{meta['name']}" if ns else f"{obj['kind']}/{meta['name']}"


def build_objects(documents: Iterable[Document], default_namespace: str) -> Objects:
    """Objects sorted by (namespace, kind, name, API group). Of two identical copies of the same object
    the one from the earlier file is kept and the other listed in ``duplicates``; copies that differ
    are an input error naming both (which one is the cluster's is unknowable), charged to the object's
    namespace, and the earlier copy is kept only so the rest of the snapshot still resolves."""
    out = Objects()
    candidates = _kubernetes_documents(documents, out)
    out.scoping = Scoping(cluster_scoped_crds(doc.data for doc in candidates))
    kept: dict[tuple[str, str, str, str], tuple[dict[str, Any], Document, bool]] = {}
    for doc in candidates:
        obj = redact(doc.data)
        meta = obj["metadata"]
        defaulted = not meta.get("namespace") and out.scoping.namespaced(obj["kind"], obj.get("apiVersion"))
        if defaulted:
            meta["namespace"] = default_namespace
        key = (str(meta.get("namespace") or ""), obj["kind"], meta["name"], group_of(obj.get("apiVersion")))
        if key not in kept:
            kept[key] = (obj, doc, defaulted)
        elif obj == kept[key][0]:
            out.duplicates.append({"object": ref_of(obj), "kept": kept[key][1].source, "ignored": doc.source})
        else:
            out.problems.append(_conflict(obj, kept[key][1], doc))
    for index, key in enumerate(sorted(kept)):
        obj, doc, defaulted = kept[key]
        out.objects.append(obj)
        out.sources.append(doc.source)
        out.files.append(doc.path)
        if defaulted:
            out.defaulted.append(index)
    return out


def _conflict(obj: Mapping[str, Any], first: Document, later: Document) -> FileProblem:
    """Two differing copies of one object. Compared after redaction, so no value reaches the message;
    copies whose secrets differ have different markers, so they conflict too."""
    message = f"conflicting copies of {ref_of(obj)}: {first.source} and {later.source}"
    meta = obj["metadata"]
    if obj["kind"] == "Namespace" and not group_of(obj.get("apiVersion")):
        namespaces = {meta["name"]}
    else:
        namespaces = {meta["namespace"]} if meta.get("namespace") else set()
    # `placed`: the object says where it belongs; the other objects of its file or folder do not.
    return FileProblem(InputError(later.path, message, later.line), namespaces, placed=True)


def _kubernetes_documents(documents: Iterable[Document], out: Objects) -> list[Document]:
    """The documents that are Kubernetes objects; the others go to ``out.skipped`` (not Kubernetes)
    or ``out.problems`` (a broken object)."""
    flat = list(_flatten(documents, out.problems))
    patches: dict[str, str] = {}
    for doc in flat:
        if doc.item is None and _is_kustomization(doc):
            patches.update(dict.fromkeys(classify.kustomize_patches(doc.path, doc.data), doc.path))
    found: list[Document] = []
    for doc in flat:
        reason = classify.document_skip_reason(doc.path, doc.data) if doc.item is None else None
        unrendered = reason == classify.KUSTOMIZATION_REASON
        if doc.path in patches and (reason is None or isinstance(doc.data, list)):
            reason = f"a kustomize patch used by {patches[doc.path]}: {classify.RENDER_KUSTOMIZE}"
            unrendered = True
        if reason:
            out.skipped.append(classify.skip(doc.path, doc.line, reason, unrendered))
            continue
        problem = invalid(doc.data)
        if problem:
            error = InputError(doc.path, f"{doc.where}: {problem}", doc.line)
            out.problems.append(FileProblem(error, _own_namespace(doc.data)))
            continue
        found.append(doc)
    return found


def _is_kustomization(doc: Document) -> bool:
    data = doc.data
    if not isinstance(data, Mapping):
        return False
    return classify.document_skip_reason(doc.path, data) == classify.KUSTOMIZATION_REASON


def _own_namespace(data: Any) -> set[str]:
    meta = data.get("metadata") if isinstance(data, Mapping) else None
    ns = meta.get("namespace") if isinstance(meta, Mapping) else None
    return {ns} if isinstance(ns, str) and ns else set()


def _flatten(documents: Iterable[Document], problems: list[FileProblem]) -> Iterator[Document]:
    for doc in documents:
        # Before anything else looks at it (validation, skipping, messages): secrets go. A List is
        # redacted whole here, so its items (flattened below) are not walked again.
        if doc.item is None:
            doc.data = redact_document(doc.data)
        data = doc.data
        if data is None:
            continue  # an empty document (a trailing `---`)
        kind = data.get("kind") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind.endswith("List") and "items" in data:
            items = data.get("items") or []
            if not isinstance(items, list):
                error = InputError(doc.path, f"{doc.where}: {kind} `items` is not a list", doc.line)
                problems.append(FileProblem(error))
                continue
            # Raw API lists (`PodList`) leave kind/apiVersion off their items; kubectl's `List` keeps them.
            item_kind = kind[: -len("List")] or None
            for number, item in enumerate(items, start=1):
                if isinstance(item, dict) and item_kind:
                    item.setdefault("kind", item_kind)
                    if "apiVersion" in data:
                        item.setdefault("apiVersion", data["apiVersion"])
                line = doc.item_lines[number - 1] if number <= len(doc.item_lines) else doc.line
                yield from _flatten([Document(doc.path, doc.index, line, item, number)], problems)
        else:
            yield doc


def invalid(data: Any) -> str | None:
    """Why a Kubernetes object cannot be assessed, or ``None``."""
    if not isinstance(data, dict):
        return f"expected a Kubernetes object (a mapping), found {type(data).__name__}"
    if not isinstance(data.get("kind"), str) or not data["kind"]:
        return "object has no kind"
    kind = data["kind"]
    api_version = data.get("apiVersion")
    if not KIND.fullmatch(kind) and not (custom_group(api_version) and CUSTOM_KIND.fullmatch(kind)):
        # Kubernetes' own kinds are CamelCase (the API server refuses `secret`); read as given, `secret`
        # would escape every rule about Secrets. A custom group's kind may be any case (CUSTOM_KIND).
        why = "kinds are CamelCase" if KIND.fullmatch(kind[:1].upper() + kind[1:]) else "kinds are letters"
        return f"kind {kind!r} is not a Kubernetes kind: {why} ({camel_case(kind)})"
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return f"{kind} has no metadata.name"
    if meta.get("namespace") is not None and not isinstance(meta["namespace"], str):
        return f"{kind}/{meta['name']} has a non-string metadata.namespace"
    if data.get("apiVersion") is not None and not isinstance(data["apiVersion"], str):
        # Its API group decides what the object is (a NetworkPolicy of networking.k8s.io or Calico's).
        return f"{kind}/{meta['name']} has a non-string apiVersion"
    return None


def custom_group(api_version: Any) -> bool:
    """Whether ``api_version`` names a custom resource's group: one with a dot that is not Kubernetes'
    own (``constraints.gatekeeper.sh`` is; ``v1``, ``apps``, ``networking.k8s.io`` are not)."""
    if not isinstance(api_version, str):
        return False
    group = group_of(api_version)
    return "." in group and not f".{group}".endswith(RESERVED_GROUP_SUFFIXES)


def camel_case(kind: str) -> str:
    """The kind ``kind`` was probably meant to be: a known kind of that spelling, else capitalised."""
    letters = re.sub(r"[^A-Za-z0-9]", "", kind)
    return _KNOWN_KINDS.get(letters.casefold(), letters[:1].upper() + letters[1:])


def namespaces_in(data: Any, scoping: Scoping, default_namespace: str) -> set[str]:
    """The namespaces a raw document (or List) puts objects in, for charging an error to them."""
    found: set[str] = set()
    items = data.get("items") if isinstance(data, Mapping) else None
    for item in items if isinstance(items, list) else [data]:
        if not isinstance(item, Mapping):
            continue
        meta = item.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, Mapping) else None
        if isinstance(ns, str) and ns:
            found.add(ns)
        elif isinstance(item.get("kind"), str) and scoping.namespaced(item["kind"], item.get("apiVersion")):
            found.add(default_namespace)
    return found


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop what need not reach an inventory (its secrets already replaced by ``redact_document``): the
    last-applied annotation (a full copy of the object, its secrets included) and managedFields (bulk
    without audit value)."""
    # Copies only what it changes: the input is left as it was, without the cost of a deep copy.
    obj = dict(obj)
    meta = obj["metadata"] = dict(obj["metadata"])
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        if annotations:
            meta["annotations"] = annotations
        else:
            del meta["annotations"]
    return obj

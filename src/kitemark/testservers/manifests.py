"""Load a folder of manifests (a check's fixture) into the test API server as its admin, and remove it
again, so the live collector is tested on the very objects its snapshot tests read.

What a real API server does that a folder of files does not, and how a load meets it:

- a custom resource needs its CustomResourceDefinition, Established and in discovery: the fixture's
  own, else a minimal one made here (any object, a status subresource); also for the custom kinds
  the check reads (``reads``), as a cluster running the component serves every kind of it;
- ``create`` ignores ``status``: it is written through the ``status`` subresource where there is one,
  and ephemeral containers through ``ephemeralcontainers`` (as ``kubectl debug`` adds them);
- PodSecurity admission refuses a Pod its namespace's level forbids: a fixture's Pods stand for ones
  made before the level was set, so a Namespace gets its ``pod-security.kubernetes.io/`` labels last;
- an object the server made itself (``kube-system``, a ``system:`` binding) already exists: the
  fixture's version replaces it, and the original is restored on removal;
- what the server does not hold as written (a file that is not YAML, a document that is no object,
  a second differing copy, a field the API refuses, a status whose every field is zero) is returned
  as ``Refused`` with the reason, never dropped in silence;
- no controller-manager runs: deletion is in the background (Jobs default to orphaning, which only
  the garbage collector finishes), with no grace period, a Namespace's ``kubernetes`` finalizer is
  cleared through ``/finalize``, and every deletion is waited for, a CRD's until discovery forgets
  it, so the next fixture starts from the same cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from kitemark.targets.cluster.live.discovery import builtin, parse_read
from kitemark.testservers.admin import Admin, ApiType, LoadError

CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
NAMESPACE = ("", "Namespace")
# Set by the API server: a manifest carrying them (a `kubectl get` dump) cannot be created as it is.
SERVER_FIELDS = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "selfLink",
    "managedFields",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
DELETE_NOW = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
DELETE_NOW["propagationPolicy"] = "Background"
POD_SECURITY = "pod-security.kubernetes.io/"
APPLY = {"fieldManager": "kitemark-fixtures", "force": "true"}

__all__ = ["Admin", "LoadError", "Loaded", "Refused", "group_of", "load", "read_manifests", "unload"]


@dataclass(frozen=True)
class Refused:
    """A fixture document the API server does not hold as written, and why."""

    ref: str
    reason: str


@dataclass(frozen=True)
class Created:
    path: str
    group: str
    kind: str
    namespace: str
    name: str


@dataclass
class Loaded:
    """What a load did: the objects it created (in order), those it replaced (path, original), the
    documents refused, and the CRDs it made itself."""

    created: list[Created] = field(default_factory=list)
    replaced: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    made_crds: list[str] = field(default_factory=list)

    def refs(self) -> set[tuple[str, str, str, str]]:
        """(group, kind, namespace, name) of every object created."""
        return {(c.group, c.kind, c.namespace, c.name) for c in self.created}


def ref_of(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name")
    return f"{obj.get('kind')}/{ns}/{name}" if ns else f"{obj.get('kind')}/{name}"


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _type_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    return group_of(str(obj.get("apiVersion") or "")), str(obj.get("kind") or "")


def read_manifests(folder: Path) -> tuple[list[dict[str, Any]], list[Refused]]:
    """The objects of every YAML/JSON file under ``folder`` (sorted, ``List`` kinds flattened); a file
    that does not parse is refused whole, as the snapshot reader refuses it."""
    objects: list[dict[str, Any]] = []
    refused: list[Refused] = []
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
    for path in files:
        name = path.relative_to(folder).as_posix()
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as exc:
            refused.append(Refused(f"file:{name}", f"not YAML: {' '.join(str(exc).split())[:200]}"))
            continue
        for doc in documents:
            is_list = isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List")
            items = doc.get("items") if is_list else [doc]
            for obj in items if isinstance(items, list) else [doc]:
                if isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind"):
                    objects.append(copy.deepcopy(obj))
                else:  # the snapshot reader skips it too, with its reason
                    refused.append(Refused(f"file:{name}", "not a Kubernetes object (no apiVersion, kind)"))
    return objects, refused


def load(admin: Admin, folder: Path, reads: Iterable[str] = ()) -> Loaded:
    """Create the fixture in ``folder`` on the server (see the module docstring); on a ``LoadError``
    what was created is removed before it is raised."""
    objects, refused = read_manifests(folder)
    loaded = Loaded(refused=refused)
    try:
        _load(admin, _unique(objects, loaded), reads, loaded)
    except BaseException:
        unload(admin, loaded)
        raise
    return loaded


def _load(admin: Admin, objects: list[dict[str, Any]], reads: Iterable[str], loaded: Loaded) -> None:
    crds = [o for o in objects if _type_key(o) == CRD]
    kinds = [parse_read(read) for read in reads if not read.endswith("?")]  # optional: read when served
    read_only = [{"apiVersion": f"{g}/v1", "kind": k} for g, k in kinds if not builtin(g) and k != "*"]
    made = _missing_crds(admin, [*objects, *read_only], crds)
    loaded.made_crds = [c["metadata"]["name"] for c in made]
    for crd in [*crds, *made]:
        _create(admin, crd, loaded)
    _wait_served(admin, [c for c in [*crds, *made] if _was_created(c, loaded)])
    namespaces = [o for o in objects if _type_key(o) == NAMESPACE]
    for obj in namespaces:
        _create(admin, _without_pod_security(obj), loaded)
    for obj in objects:
        if _type_key(obj) not in (CRD, NAMESPACE):
            _create(admin, obj, loaded)
    for obj in namespaces:
        if _without_pod_security(obj) is not obj and _was_created(obj, loaded, or_replaced=True):
            _relabel(admin, obj, loaded)


def unload(admin: Admin, loaded: Loaded) -> None:
    """Delete what ``load`` created (namespaced objects, then cluster-scoped ones, Namespaces and
    CRDs last), wait until each is gone, and restore what it replaced."""
    last = {NAMESPACE: 1, CRD: 2}
    deleted = sorted(reversed(loaded.created), key=lambda c: last.get((c.group, c.kind), 0))
    for created in deleted:
        status, answer = admin.call("DELETE", created.path, DELETE_NOW)
        if status not in (200, 202, 404):
            raise LoadError(f"DELETE {created.path}: {status} {answer.get('message')}")
        if (created.group, created.kind) == NAMESPACE:
            _finalize(admin, created.name)
    for created in deleted:
        admin.wait(f"{created.path} to be deleted", partial(_gone, admin, created.path), path=created.path)
        if (created.group, created.kind) == CRD:
            _wait_forgotten(admin, created.name)
    for path, original in loaded.replaced:
        body = _cleaned(original)
        body["metadata"]["resourceVersion"] = admin.get(path)["metadata"]["resourceVersion"]
        status, answer = admin.call("PUT", path, body)
        if status != 200:
            raise LoadError(f"restoring {path}: {status} {answer.get('message')}")


def _was_created(obj: Mapping[str, Any], loaded: Loaded, or_replaced: bool = False) -> bool:
    meta = obj.get("metadata") or {}
    key = (*_type_key(obj), meta.get("namespace") or "", meta.get("name"))
    if key in loaded.refs():
        return True
    return or_replaced and any(path.endswith(f"/{meta.get('name')}") for path, _ in loaded.replaced)


def _unique(objects: list[dict[str, Any]], loaded: Loaded) -> list[dict[str, Any]]:
    """One object per identity: an identical copy is the same object; a differing one cannot be
    stored beside it (the API server holds one object per name), so it is refused."""
    kept: dict[tuple[Any, ...], dict[str, Any]] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        key = (*_type_key(obj), meta.get("namespace"), meta.get("name"))
        if key not in kept:
            kept[key] = obj
        elif kept[key] != obj:
            loaded.refused.append(Refused(ref_of(obj), "a second, differing copy of the object"))
    return list(kept.values())


def _missing_crds(
    admin: Admin, objects: list[dict[str, Any]], crds: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A minimal CRD for each custom kind in ``objects`` that is neither served nor in ``crds``."""
    defined = {(c["spec"]["group"], c["spec"]["names"]["kind"]) for c in crds}
    made: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        key = _type_key(obj)
        if builtin(key[0]) or key in admin.types or key in defined or key in made:
            continue
        namespaced = bool((obj.get("metadata") or {}).get("namespace"))
        made[key] = _minimal_crd(*key, str(obj["apiVersion"]).rpartition("/")[2], namespaced)
    return list(made.values())


def _minimal_crd(group: str, kind: str, version: str, namespaced: bool) -> dict[str, Any]:
    singular = kind.lower()
    if singular.endswith("y"):
        plural = singular[:-1] + "ies"
    else:
        plural = singular + ("es" if singular.endswith(("s", "x")) else "s")
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    names = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": singular}
    version_spec = {"name": version, "served": True, "storage": True, "schema": schema}
    version_spec["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced" if namespaced else "Cluster",
            "names": names,
            "versions": [version_spec],
        },
    }


def _wait_served(admin: Admin, crds: list[dict[str, Any]]) -> None:
    """Until each CRD is Established, discovery lists its kind (the collector discovers) and a list
    of it answers. That first list starts the kind's storage: a CRD deleted while its storage
    starts can stay Terminating for minutes (its finalizer's list fails, "storage is
    (re)initializing", and is retried with exponential backoff)."""
    for crd in crds:
        name, spec = crd["metadata"]["name"], crd["spec"]
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        admin.wait(f"CRD {name} to be Established", partial(_established, admin, path), path=path)
        group, plural = spec["group"], spec["names"]["plural"]
        for version in (v["name"] for v in spec["versions"] if v.get("served")):
            admin.wait(
                f"{group}/{version} to serve {plural}", partial(_serves, admin, group, version, plural)
            )
            listing = f"/apis/{group}/{version}/{plural}"
            admin.wait(f"{listing} to answer", partial(_answers, admin, listing))
    if crds:
        admin.discover()


def _established(admin: Admin, path: str) -> bool:
    conditions = (admin.get(path).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def _serves(admin: Admin, group: str, version: str, plural: str) -> bool:
    return plural in admin.served(group, version)


def _answers(admin: Admin, path: str) -> bool:
    return admin.call("GET", path, None, {"limit": "1"})[0] == 200


def _not_served(admin: Admin, group: str, version: str, plural: str) -> bool:
    return plural not in admin.served(group, version)


def _group_dropped(admin: Admin, group: str, version: str) -> bool:
    return version not in admin.groups().get(group, [])


def _wait_forgotten(admin: Admin, crd: str) -> None:
    """Until discovery no longer lists the deleted CRD's kind (nor its group, when it was the last)."""
    plural, _, group = crd.partition(".")
    for version in {t.version for (g, _), t in admin.types.items() if g == group}:
        admin.wait(
            f"{group}/{version} to stop serving {plural}", partial(_not_served, admin, group, version, plural)
        )
        if not admin.served(group, version):
            admin.wait(f"/apis to drop {group}/{version}", partial(_group_dropped, admin, group, version))
    admin.discover()


def _cleaned(obj: Mapping[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(dict(obj))
    meta = body.setdefault("metadata", {})
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    return body


def _create(admin: Admin, obj: dict[str, Any], loaded: Loaded) -> None:
    key = _type_key(obj)
    api = admin.types.get(key)
    if api is None:
        loaded.refused.append(Refused(ref_of(obj), f"the server serves no kind {key[1]} in group {key[0]!r}"))
        return
    body = _cleaned(obj)
    meta = body["metadata"]
    if api.namespaced:
        meta["namespace"] = meta.get("namespace") or "default"  # where the snapshot reader places it
    else:
        meta.pop("namespace", None)
    ephemeral = body.get("spec", {}).pop("ephemeralContainers", None) if key == ("", "Pod") else None
    path = api.path(meta.get("namespace"), str(meta.get("name")))
    status, created = _post(admin, api, path, body)
    if status == 409 and created.get("reason") == "AlreadyExists":
        status, created = _replace(admin, path, body, loaded)
    if status not in (200, 201):
        loaded.refused.append(Refused(ref_of(obj), f"{status}: {created.get('message')}"))
        return
    if status == 201:
        loaded.created.append(Created(path, *key, meta.get("namespace") or "", str(meta.get("name"))))
    if ephemeral:  # `kubectl debug` adds them to a running Pod; create refuses them
        created["spec"]["ephemeralContainers"] = ephemeral
        created = _write(admin, path, "ephemeralcontainers", created, obj, loaded)
    if created and "status" in obj and api.status and key != CRD and created.get("status") != obj["status"]:
        created["status"] = obj["status"]
        _write(admin, path, "status", created, obj, loaded)


def _post(admin: Admin, api: ApiType, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Create ``body`` at ``path``. A custom resource is created by a server-side apply: the server
    holds every ``create`` of a kind Established less than 2 s before for 2 s (for HA peers to
    catch up), which would be most of this suite's time; an apply that creates is not held."""
    if builtin(api.group):
        return admin.call("POST", path.rpartition("/")[0], body)
    if admin.call("GET", path)[0] != 404:
        return 409, {"reason": "AlreadyExists", "message": f"{path} exists"}
    return admin.call("PATCH", path, body, APPLY, content="application/apply-patch+yaml")


def _write(
    admin: Admin, path: str, subresource: str, body: dict[str, Any], obj: Mapping[str, Any], loaded: Loaded
) -> dict[str, Any] | None:
    """PUT ``body`` through a subresource: the object as stored, or ``None`` when it is refused."""
    status, answer = admin.call("PUT", f"{path}/{subresource}", body)
    if status != 200:
        loaded.refused.append(Refused(f"{ref_of(obj)} {subresource}", f"{status}: {answer.get('message')}"))
        return None
    if subresource == "status" and body["status"] and not answer.get("status"):
        # Every field zero: the API omits them all, and the object reads as having no status.
        loaded.refused.append(Refused(f"{ref_of(obj)} status", "stored as {}: the API omits zero values"))
    return dict(answer)


def _replace(admin: Admin, path: str, body: dict[str, Any], loaded: Loaded) -> tuple[int, Any]:
    """The fixture's version of an object the server made itself; the original is kept to restore."""
    original = admin.get(path)
    body = copy.deepcopy(body)
    body["metadata"]["resourceVersion"] = original["metadata"]["resourceVersion"]
    status, answer = admin.call("PUT", path, body)
    if status == 200:
        loaded.replaced.append((path, original))
    return status, answer


def _without_pod_security(ns: dict[str, Any]) -> dict[str, Any]:
    """``ns`` without its Pod Security labels (``ns`` itself when it has none)."""
    labels = (ns.get("metadata") or {}).get("labels") or {}
    if not any(str(k).startswith(POD_SECURITY) for k in labels):
        return ns
    body = copy.deepcopy(ns)
    body["metadata"]["labels"] = {k: v for k, v in labels.items() if not str(k).startswith(POD_SECURITY)}
    return body


def _relabel(admin: Admin, ns: dict[str, Any], loaded: Loaded) -> None:
    """The fixture's own labels, Pod Security levels included, once its Pods exist."""
    name = ns["metadata"]["name"]
    path = f"/api/v1/namespaces/{name}"
    body = admin.get(path)
    labels = {**(ns["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
    body["metadata"]["labels"] = labels
    status, answer = admin.call("PUT", path, body)
    if status != 200:
        loaded.refused.append(Refused(f"{ref_of(ns)} labels", f"{status}: {answer.get('message')}"))


def _gone(admin: Admin, path: str) -> bool:
    """Whether ``path`` is deleted. A finalizer of the fixture's own, which only an absent controller
    would remove, is cleared; a CRD's is the API server's own and runs."""
    status, obj = admin.call("GET", path)
    if status == 404:
        return True
    if (obj.get("metadata") or {}).get("finalizers") and "/customresourcedefinitions/" not in path:
        admin.call("PATCH", path, {"metadata": {"finalizers": None}}, content="application/merge-patch+json")
    return False


def _finalize(admin: Admin, name: str) -> None:
    """Clear a deleted Namespace's ``kubernetes`` finalizer: no namespace controller runs to do it."""
    status, ns = admin.call("GET", f"/api/v1/namespaces/{name}")
    if status == 404:
        return
    ns.setdefault("spec", {})["finalizers"] = []
    status, answer = admin.call("PUT", f"/api/v1/namespaces/{name}/finalize", ns)
    if status not in (200, 404):
        raise LoadError(f"finalizing Namespace {name}: {status} {answer.get('message')}")

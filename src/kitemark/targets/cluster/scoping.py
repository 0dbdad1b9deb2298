"""Which kinds live in a namespace, and the namespace of an object that names none.

kubectl puts a namespaced object without ``metadata.namespace`` in the namespace of its context
(``default`` unless told otherwise); most repositories keep application manifests that way. Kitemark
does the same with the target's ``default-namespace`` option, so those objects are assessed instead of
silently falling outside every namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_NAMESPACE = "default"
CRD_GROUP = "apiextensions.k8s.io"

# Cluster-scoped kinds of Kubernetes itself and of the add-ons a platform commonly runs
# (`kubectl api-resources --namespaced=false`). Every kind not listed here is namespaced, unless a
# CustomResourceDefinition in the snapshot says `scope: Cluster`.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        # core, rbac, apiextensions, apiregistration, admission
        "Namespace",
        "Node",
        "PersistentVolume",
        "ComponentStatus",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "APIService",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        # storage, networking, scheduling, node, certificates, flowcontrol, resource
        "StorageClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "VolumeAttributesClass",
        "IngressClass",
        "IPAddress",
        "ServiceCIDR",
        "PriorityClass",
        "RuntimeClass",
        "CertificateSigningRequest",
        "ClusterTrustBundle",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "DeviceClass",
        "ResourceSlice",
        "StorageVersion",
        "StorageVersionMigration",
        "PodSecurityPolicy",
        # reviews (rarely stored, but never namespaced when they are)
        "TokenReview",
        "SelfSubjectReview",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "SubjectAccessReview",
        # add-ons: Gatekeeper, cert-manager, Calico, Kyverno, external-secrets, Karpenter
        "ConstraintTemplate",
        "ClusterIssuer",
        "GlobalNetworkPolicy",
        "GlobalNetworkSet",
        "HostEndpoint",
        "IPPool",
        "ClusterPolicy",
        "ClusterPolicyReport",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "NodePool",
        "EC2NodeClass",
        "NodeClaim",
    }
)
# Groups whose every kind is cluster-scoped: Gatekeeper constraints (one kind per template),
# mutators, expansion templates and external data providers.
CLUSTER_SCOPED_GROUPS = frozenset(
    {
        "constraints.gatekeeper.sh",
        "mutations.gatekeeper.sh",
        "expansion.gatekeeper.sh",
        "externaldata.gatekeeper.sh",
    }
)


def group_of(api_version: Any) -> str:
    """``apps/v1`` → ``apps``; the core group (``v1``) → ``""``."""
    return str(api_version or "").rpartition("/")[0]


def cluster_scoped_crds(objects: Iterable[Mapping[str, Any]]) -> frozenset[tuple[str, str]]:
    """(group, kind) of every CustomResourceDefinition in the snapshot declaring ``scope: Cluster``."""
    found: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition" or group_of(obj.get("apiVersion")) != CRD_GROUP:
            continue
        spec = obj.get("spec")
        if not isinstance(spec, Mapping) or spec.get("scope") != "Cluster":
            continue
        names = spec.get("names")
        kind = names.get("kind") if isinstance(names, Mapping) else None
        if isinstance(kind, str) and isinstance(spec.get("group"), str):
            found.add((spec["group"], kind))
    return frozenset(found)


class Scoping:
    """Decides whether an object is namespaced, given the CRDs of its snapshot."""

    def __init__(self, crds: frozenset[tuple[str, str]] = frozenset()) -> None:
        self._crds = crds

    def namespaced(self, kind: str, api_version: Any) -> bool:
        if kind in CLUSTER_SCOPED_KINDS:
            return False
        group = group_of(api_version)
        return group not in CLUSTER_SCOPED_GROUPS and (group, kind) not in self._crds

"""Check inputs shared by the cluster kind (its scopes read them; checks may too).

The defaults are the MoJ Cloud Platform's; a run overrides them in ``kitemark.yaml``::

    inputs:
      system_namespaces: [kube-system, monitoring, "platform-*"]
"""

from __future__ import annotations

from kitemark.core.inputs import Input

SYSTEM_NAMESPACES = Input(
    "system_namespaces",
    default=[
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "gatekeeper-system",
        "ingress-controllers",
        "monitoring",
        "cert-manager",
        "logging",
        "velero",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "kuberos",
        "overprovision",
        "concourse",
        "concourse-*",
        "trivy-system",
        "kuberhealthy",
        "amazon-guardduty",
        "cloud-platform-label-pods",
        "kitemark",  # Kitemark's own reader (deploy/rbac.yaml), not a team's
    ],
    description=(
        "Namespaces the platform team runs, as exact names or shell globs (`concourse-*`): they are not "
        "team namespaces, so namespace checks skip them (objects that name no namespace are assessed "
        "even when their default namespace is listed here)"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)

"""Network isolation of team namespaces."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.checks import check, failed, passed
from kitemark.model import Finding
from kitemark.targets.cluster_views import KObject, NamespaceView

NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every Namespace
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def _selects_all(selector: Any) -> bool:
    """An absent or empty label selector selects everything."""
    if not selector:
        return True
    return (
        isinstance(selector, Mapping)
        and not selector.get("matchLabels")
        and not selector.get("matchExpressions")
    )


def _only_namespace(selector: Any, namespace: str) -> bool:
    """A namespaceSelector that can match no namespace but `namespace` itself."""
    if not isinstance(selector, Mapping):
        return False
    labels = selector.get("matchLabels") or {}
    if labels.get(NAME_LABEL) == namespace:
        return True
    return any(
        isinstance(e, Mapping)
        and e.get("key") == NAME_LABEL
        and e.get("operator") == "In"
        and e.get("values") == [namespace]
        for e in selector.get("matchExpressions") or []
    )


def _peer(peer: Any, namespace: str) -> tuple[str, str]:
    """Classify one `from` peer: ('same' | 'narrow' | 'open', description)."""
    if not isinstance(peer, Mapping) or not peer:
        return "open", "an empty peer"
    if "ipBlock" in peer:
        cidr = str((peer.get("ipBlock") or {}).get("cidr", ""))
        return ("open" if cidr in OPEN_CIDRS else "narrow"), f"ipBlock {cidr}"
    if "namespaceSelector" not in peer:
        return "same", "pods in this namespace"
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if _only_namespace(ns_sel, namespace):
        return "same", "pods in this namespace"
    if _selects_all(ns_sel):
        return ("open" if _selects_all(pod_sel) else "narrow"), "every namespace"
    return "narrow", f"namespaces matching {dict(ns_sel)}"


def classify(policy: KObject, namespace: str) -> tuple[str, str]:
    """('default-deny' | 'opens-all' | 'other', why) for one NetworkPolicy.

    'default-deny': selects every pod, governs ingress, admits nothing or only same-namespace pods.
    'opens-all': selects every pod and admits ingress from any source; policies are additive, so
    such a policy cancels any default deny beside it.
    """
    spec = policy.get("spec") or {}
    if not _selects_all(spec.get("podSelector")):
        return "other", "selects only some pods (podSelector is not {})"
    types = spec.get("policyTypes")
    # Kubernetes: without policyTypes a policy always governs Ingress.
    if isinstance(types, list) and "Ingress" not in types:
        return "other", f"policyTypes {types} does not include Ingress"
    rules = spec.get("ingress") or []
    if not rules:
        return "default-deny", "selects every pod and admits no ingress"
    seen: list[str] = []
    for number, rule in enumerate(rules, start=1):
        peers = (rule or {}).get("from") if isinstance(rule, Mapping) else None
        if not peers:
            return "opens-all", f"ingress rule {number} has no `from`, so it admits every source"
        for verdict, what in (_peer(p, namespace) for p in peers):
            if verdict == "open":
                return "opens-all", f"ingress rule {number} admits {what} to every pod"
            if verdict == "narrow":
                seen.append(what)
    if seen:
        return "other", "admits ingress from outside the namespace: " + "; ".join(sorted(set(seen)))
    return "default-deny", "selects every pod and admits ingress only from pods in this namespace"


@check(
    "K8S-NET-001",
    scope="cluster.namespace",
    title="Team namespaces deny ingress from other namespaces by default",
    severity="high",
    controls=["service-standard:9", "ncsc-csp:3", "ncsc-csp:11"],
    rationale="""
        Kubernetes lets every pod reach every other pod unless a NetworkPolicy says otherwise, so
        without a default-deny policy one compromised tenant can reach every other tenant's services
        directly. The platform's separation between teams (NCSC principle 3) and its protection of
        service interfaces (principle 11) rest on each team namespace carrying a policy that selects
        all pods and admits ingress only from the same namespace; narrower allow policies (ingress
        controllers, monitoring) are then added on top. A policy that opens every pod to any source
        cancels the default deny, because policies are additive.
    """,
    remediation="""
        Add the platform's `default` policy to the namespace folder (04-networkpolicy.yaml) and
        remove any policy that selects every pod and admits ingress from everywhere:

            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: default
              namespace: <namespace>
            spec:
              podSelector: {}
              policyTypes: [Ingress]
              ingress:
                - from:
                    - podSelector: {}

        Traffic from the ingress controllers is then allowed by the separate
        `allow-ingress-controllers` policy (namespaceSelector `component: ingress-controllers`).
    """,
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/other-topics/network-policies.html",
    ],
)
def test_default_deny_ingress(ns: NamespaceView) -> Iterator[Finding]:
    verdicts = [(policy, *classify(policy, ns.name)) for policy in ns.network_policies]
    evidence = {
        "policies": [
            {
                "name": p.name,
                "default_deny": v == "default-deny",
                "opens_all": v == "opens-all",
                "reason": why,
            }
            for p, v, why in verdicts
        ]
    }
    deny = [p for p, v, _ in verdicts if v == "default-deny"]
    opens = [(p, why) for p, v, why in verdicts if v == "opens-all"]
    if opens:
        policy, why = opens[0]
        yield failed(
            ns.ref,
            f"NetworkPolicy '{policy.name}' {why}, which cancels any default deny",
            evidence=evidence,
            location=policy.source,
        )
    elif not deny:
        what = (
            "has no NetworkPolicy" if not verdicts else "has no NetworkPolicy that denies ingress by default"
        )
        yield failed(
            ns.ref,
            f"namespace {what}: pods accept traffic from every other namespace",
            evidence=evidence,
            location=ns.location,
        )
    else:
        yield passed(
            ns.ref,
            f"NetworkPolicy '{deny[0].name}' selects every pod and admits ingress only from this namespace",
            evidence=evidence,
            location=deny[0].source,
        )

"""Which sources team namespaces admit: the platform's own (ingress controllers, Prometheus) and
never every namespace. K8S-NET-001 (test_network) judges the default deny these build on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.labels import matches, selects_everything
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import NETWORK_POLICY, KObject, NamespaceView, listed, wrong_types

from .namespace_inputs import INGRESS_CONTROLLERS, MONITORING
from .test_network import NAME_LABEL, WHOLE_SPACES, _namespace_reach, _network, _not_assessed

READS = ["v1/Namespace", "networking.k8s.io/NetworkPolicy"]
MONITORS = ["monitoring.coreos.com/ServiceMonitor", "monitoring.coreos.com/PodMonitor"]




def _selector(selector: Any) -> str:
    return "every pod" if selects_everything(selector) else f"pods matching {dict(selector)}"


def _governs_ingress(spec: Mapping[str, Any]) -> bool:
    types = spec.get("policyTypes")
    return not isinstance(types, list) or "Ingress" in types  # without policyTypes: Ingress


@dataclass(frozen=True)
class Admission:
    """A policy rule that admits the source namespace: which rule, from which peer, to which pods."""

    policy: KObject
    rule: int
    peer: str
    pods: str

    def describe(self) -> str:
        return (
            f"NetworkPolicy '{self.policy.name}' (ingress rule {self.rule}) admits {self.peer} to {self.pods}"
        )


def _peer_admits(peer: Any, source: str, labels: Mapping[str, str], namespace: str) -> str | None:
    """How one `from` peer admits pods of namespace ``source`` (carrying ``labels``), or None."""
    peer = {k: v for k, v in peer.items() if v is not None} if isinstance(peer, Mapping) else peer
    if not peer:
        return "every source (an empty peer)"
    if "ipBlock" in peer:
        return None  # addresses, not namespaces: not read as admitting a namespace
    pods = peer.get("podSelector")
    if "namespaceSelector" not in peer:
        return f"{_selector(pods)} of this namespace" if source == namespace else None
    selector = peer.get("namespaceSelector") or {}
    try:
        if not matches(selector, labels):
            return None
    except ValueError:
        return None  # an unknown operator: the API server refuses it, it admits nothing
    where = "every namespace" if selects_everything(selector) else f"namespaces matching {dict(selector)}"
    return f"{_selector(pods)} in {where}"


def admissions(policy: KObject, source: str, labels: Mapping[str, str], namespace: str) -> list[Admission]:
    """Every ingress rule of a (readable) policy that admits pods of namespace ``source``."""
    spec = policy.get("spec") or {}
    if not _governs_ingress(spec):
        return []
    labels = {**labels, NAME_LABEL: source}
    pods = _selector(spec.get("podSelector"))
    found = []
    for number, rule in enumerate(spec.get("ingress") or [], start=1):
        peers = rule.get("from")
        if not peers:
            found.append(Admission(policy, number, "every source (the rule has no `from`)", pods))
            continue
        for peer in peers:
            how = _peer_admits(peer, source, labels, namespace)
            if how is not None:
                found.append(Admission(policy, number, how, pods))
                break
    return found


def _readable(ns: NamespaceView) -> tuple[list[KObject], list[tuple[KObject, list[str]]]]:
    unreadable = [(p, bad) for p in ns.network_policies if (bad := wrong_types(p.raw, NETWORK_POLICY))]
    return [p for p in ns.network_policies if all(p is not q for q, _ in unreadable)], unreadable


def _admitted(
    ns: NamespaceView, source: Mapping[str, Any], who: str, why: str, extra: Mapping[str, Any] | None = None
) -> Finding:
    """Passed when a readable policy admits ``source``; else *error* when a policy cannot be read (it
    may be the one); else failed, saying whether the namespace has any ingress policy at all."""
    name, labels = source["name"], dict(source["labels"])
    shown = ", ".join(f"{k}={v}" for k, v in labels.items()) or "none"
    not_assessed, note = _not_assessed(ns)
    readable, unreadable = _readable(ns)
    found = [a for policy in readable for a in admissions(policy, name, labels, ns.name)]
    ingress = [p for p in readable if _governs_ingress(p.get("spec") or {})]
    evidence: dict[str, Any] = {
        "source": {"namespace": name, "labels": labels},
        "admitted_by": [
            {"policy": a.policy.name, "rule": a.rule, "peer": a.peer, "to": a.pods} for a in found
        ],
        "ingress_policies": [p.name for p in ingress],
    }
    if unreadable:
        evidence["unreadable"] = [{"name": p.name, "fields": bad} for p, bad in unreadable]
    if not_assessed:
        evidence["not_assessed"] = not_assessed
    if ns.note:
        evidence["note"] = ns.note
    evidence.update(extra or {})
    target = f"namespace {name} (labels {shown})"
    if found:
        first = found[0]
        return passed(
            ns.ref,
            first.describe() + f", so {who} in {target} can reach them{note}",
            evidence=evidence,
            location=first.policy.source,
        )
    if unreadable:
        policy, bad = unreadable[0]
        return error(
            ns.ref,
            f"NetworkPolicy '{policy.name}' cannot be read, so whether it admits {who} cannot be told: "
            f"{listed(bad)} (the API server refuses such a policy){note}",
            evidence=evidence,
            location=policy.source,
        )
    if not ingress:
        return failed(
            ns.ref,
            f"no NetworkPolicy admits {who} from {target}: the namespace has no ingress policy at all, "
            f"so it is open to every namespace (K8S-NET-001) and a default deny would cut {why}{note}",
            evidence=evidence,
            location=ns.location,
        )
    return failed(
        ns.ref,
        f"no NetworkPolicy admits {who} from {target}: its ingress policies "
        f"({', '.join(repr(p.name) for p in ingress)}) refuse them, which cuts {why}{note}",
        evidence=evidence,
        location=ingress[0].source,
    )


def _skip(ns: NamespaceView, what: str) -> Finding | None:
    if ns.system:
        return not_applicable(
            ns.ref,
            f"{ns.name} is a system namespace (input system_namespaces): its network policies are the "
            "platform's",
            evidence={"note": ns.note},
        )
    if ns.implied and not ns.network_policies:
        return not_applicable(
            ns.ref, ns.implied_reason("Namespace object or NetworkPolicy", what), evidence={"note": ns.note}
        )
    return None


@check(
    "K8S-NET-002",
    scope="cluster.namespace",
    title="Team namespaces admit ingress from the ingress controllers' namespace",
    severity="medium",
    rationale="""
        Behind the default deny (K8S-NET-001), a team's services are reachable from outside the
        cluster only through the platform's ingress controllers, which run in their own namespace.
        The platform's `allow-ingress-controllers` policy admits them, and nothing else from outside
        the namespace; without it the service is unreachable, and teams are tempted to open the
        namespace to everyone instead (NCSC principle 11, external interface protection; Service
        Standard 14, a reliable service). The controllers' namespace is the input
        `ingress_controllers_namespace` (its name and labels; default `ingress-controllers`, label
        `component: ingress-controllers`). A rule admits it when a peer's namespaceSelector matches
        those labels or the namespace's name label; a peer's podSelector narrows which controller
        pods, and `ports` which ports, neither of which is judged. A namespace with no ingress policy
        at all fails: it admits every namespace, not the controllers by an allow.
    """,
    remediation="""
        Add the platform's policy to the namespace folder (04-networkpolicy.yaml):

            kind: NetworkPolicy
            apiVersion: networking.k8s.io/v1
            metadata:
              name: allow-ingress-controllers
              namespace: <namespace>
            spec:
              podSelector: {}
              policyTypes: [Ingress]
              ingress:
                - from:
                    - namespaceSelector:
                        matchLabels:
                          component: ingress-controllers
    """,
    references=[
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/other-topics/network-policies.html",
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
    ],
    reads=READS,
    inputs=[INGRESS_CONTROLLERS],
)
def test_ingress_controllers_admitted(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    skip = _skip(ns, "its network policies")
    if skip:
        yield skip
        return
    yield _admitted(
        ns, inputs[INGRESS_CONTROLLERS.name], "the ingress controllers", "its services off from the internet"
    )


@check(
    "K8S-NET-003",
    scope="cluster.namespace",
    title="Team namespaces with a ServiceMonitor or PodMonitor admit ingress from the monitoring namespace",
    severity="medium",
    rationale="""
        A ServiceMonitor or PodMonitor asks the platform's Prometheus to scrape the team's pods; behind
        the default deny (K8S-NET-001) the scrape is refused unless a policy admits the monitoring
        namespace, and the service's alerts then go silent rather than fire (Service Standard 14, a
        reliable service; NCSC principle 5, operational security: incidents are seen). The
        monitoring namespace is the input `monitoring_namespace` (its name and labels; default
        `monitoring`, label `component: monitoring`), matched as in K8S-NET-002. A namespace with no
        monitor is not applicable; one with no ingress policy at all fails, as it admits everyone.
    """,
    remediation="""
        Add the platform's scraping policy beside the monitor (narrow podSelector to the scraped
        pods if you wish):

            kind: NetworkPolicy
            apiVersion: networking.k8s.io/v1
            metadata:
              name: allow-prometheus-scraping
              namespace: <namespace>
            spec:
              podSelector: {}
              policyTypes: [Ingress]
              ingress:
                - from:
                    - namespaceSelector:
                        matchLabels:
                          component: monitoring

        A policy deployed with the application (its Helm chart) is in the cluster, not in the
        environments repository: assess a snapshot of the cluster to see it.
    """,
    references=[
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/monitoring-an-app/how-to-create-alarms.html",
        "https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor",
    ],
    # PodMonitor is optional (`?`): a Prometheus operator without it has none, so none to admit.
    reads=[*READS, MONITORS[0], f"{MONITORS[1]}?"],
    inputs=[MONITORING],
)
def test_monitoring_admitted(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    monitors = ns.of_kind(*MONITORS)
    if not monitors:
        yield not_applicable(
            ns.ref,
            "no ServiceMonitor or PodMonitor (monitoring.coreos.com) in this namespace: nothing is scraped",
            evidence={"note": ns.note} if ns.note else None,
        )
        return
    skip = _skip(ns, "its network policies")
    if skip:
        yield skip
        return
    names = ", ".join(f"{m.kind} '{m.name}'" for m in monitors[:3]) + (
        f" and {len(monitors) - 3} more" if len(monitors) > 3 else ""
    )
    scrapes = f"the scrapes {names} asks for"
    yield _admitted(
        ns, inputs[MONITORING.name], "Prometheus", scrapes, {"monitors": [m.ref for m in monitors]}
    )


def _openings(policy: KObject, namespace: str) -> list[str]:
    """Each way a readable policy admits pods of every namespace (any tenant's)."""
    spec = policy.get("spec") or {}
    if not _governs_ingress(spec):
        return []
    found = []
    for number, rule in enumerate(spec.get("ingress") or [], start=1):
        peers = rule.get("from")
        if not peers:
            found.append(
                f"ingress rule {number} has no `from`, so it admits every source, every namespace's pods"
            )
            continue
        for peer in peers:
            peer = {k: v for k, v in peer.items() if v is not None}
            if not peer:
                found.append(f"ingress rule {number} has an empty peer, which admits every source")
            elif "ipBlock" in peer:
                network, what = _network(peer)
                block = peer.get("ipBlock") or {}
                if network in WHOLE_SPACES and not block.get("except"):
                    found.append(
                        f"ingress rule {number} admits {what}, which on most network plugins "
                        "(Calico, Cilium) holds every pod's address"
                    )
            elif "namespaceSelector" in peer:
                reach, where = _namespace_reach(peer.get("namespaceSelector"), namespace)
                if reach == "all":
                    pods = peer.get("podSelector")
                    tail = "" if selects_everything(pods) else " (any tenant can label its own pods to match)"
                    found.append(f"ingress rule {number} admits {_selector(pods)} in {where}{tail}")
    return found


@check(
    "K8S-NET-004",
    scope="cluster.namespace",
    title="No NetworkPolicy opens a team namespace's pods to every namespace",
    severity="high",
    rationale="""
        A rule whose namespaceSelector matches every namespace (`namespaceSelector: {}`, or only
        `NotIn`/`DoesNotExist` requirements, which any new namespace meets) admits every tenant's
        pods, so one compromised tenant reaches this one directly, whatever the default deny says
        (policies are additive) — NCSC principle 3, separation. Pairing it with a podSelector does
        not help: tenants label their own pods, so any of them can match it. A rule with no `from`,
        an empty peer, and an ipBlock of the whole address space without `except` (pod addresses
        are in it on Calico and Cilium) open the pods the same way. Each policy is judged on its own,
        whichever pods it selects; peers naming particular namespaces are not judged here. A
        deliberate exception (a shared service other namespaces call) is recorded as a waiver.
    """,
    remediation="""
        Name the namespaces that may call the service instead of all of them:

            ingress:
              - from:
                  - namespaceSelector:
                      matchLabels:
                        kubernetes.io/metadata.name: <calling-namespace>
                    podSelector:
                      matchLabels: {app: <calling-app>}

        or, if the exposure is intended, record a waiver for this policy with its reason and expiry.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/other-topics/network-policies.html",
    ],
    reads=READS,
)
def test_no_policy_opens_to_every_namespace(ns: NamespaceView) -> Iterator[Finding]:
    not_assessed, note = _not_assessed(ns)
    if not ns.network_policies:
        yield not_applicable(
            ns.ref,
            f"no Kubernetes NetworkPolicy in this namespace, so none opens it (K8S-NET-001 judges the "
            f"namespace without one){note}",
            evidence={
                **({"not_assessed": not_assessed} if not_assessed else {}),
                **({"note": ns.note} if ns.note else {}),
            }
            or None,
        )
        return
    readable, unreadable = _readable(ns)
    for policy, bad in unreadable:
        yield error(
            policy.ref,
            f"cannot be read, so what it admits cannot be told: {listed(bad)} (the API server refuses such a "
            "policy)",
            evidence={"unreadable": bad},
            location=policy.source,
        )
    for policy in readable:
        spec = policy.get("spec") or {}
        pods = _selector(spec.get("podSelector"))
        openings = _openings(policy, ns.name)
        evidence = {"selects": pods, "governs_ingress": _governs_ingress(spec), "opens": openings}
        if openings:
            yield failed(
                policy.ref,
                f"opens {pods} to every namespace: " + "; ".join(openings),
                evidence=evidence,
                location=policy.source,
            )
        else:
            what = (
                "admits no ingress from every namespace"
                if evidence["governs_ingress"]
                else "governs no ingress"
            )
            yield passed(policy.ref, f"{what} (it selects {pods})", evidence=evidence, location=policy.source)

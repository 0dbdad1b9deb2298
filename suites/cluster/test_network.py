"""Network isolation of team namespaces."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.labels import requirements, selects_everything
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import (
    NETWORK_POLICY,
    NETWORK_POLICY_GROUPS,
    KObject,
    NamespaceView,
    listed,
    wrong_types,
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every Namespace
WHOLE_SPACES = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _namespace_reach(selector: Any, namespace: str) -> tuple[str, str]:
    """What a peer's namespaceSelector can match: ('all' | 'same' | 'none' | 'some', description).

    Every namespace carries its name label, so `Exists` on it matches all of them and `DoesNotExist`
    none. `NotIn` and `DoesNotExist` on any other label match every namespace that has not been
    labelled to opt out, so a new tenant's namespace is admitted by default: that counts as 'all'.
    Only a requirement a namespace must positively carry (`In`, `Exists`, matchLabels) narrows it."""
    if selects_everything(selector):
        return "all", "every namespace"
    if not isinstance(selector, Mapping):
        return "some", f"namespaces matching {selector!r}"
    names: frozenset[str] | None = None  # None: any name
    excluded: set[str] = set()
    positive = False
    for key, operator, values in requirements(selector):
        if key == NAME_LABEL:
            if operator == "In":
                names = values if names is None else names & values
            elif operator == "NotIn":
                excluded |= values
            elif operator == "DoesNotExist":
                return "none", f"no namespace (every namespace carries {NAME_LABEL})"
            elif operator != "Exists":
                positive = True
        elif operator not in ("NotIn", "DoesNotExist"):
            positive = True
    if names is not None:
        names -= excluded
        if not names:
            return "none", "no namespace (the name requirements exclude each other)"
        if names == {namespace}:
            return "same", "pods in this namespace"
        return "some", "namespaces " + ", ".join(sorted(names))
    if positive:
        return "some", f"namespaces matching {dict(selector)}"
    except_ = f" except {', '.join(sorted(excluded))}" if excluded else ""
    return "all", f"every namespace{except_} (namespaceSelector {dict(selector)})"


def _network(peer: Mapping[str, Any]) -> tuple[IPNetwork | None, str]:
    block = peer.get("ipBlock") or {}
    cidr = str(block.get("cidr", "")) if isinstance(block, Mapping) else ""
    excepts = block.get("except") if isinstance(block, Mapping) else None
    what = f"ipBlock {cidr}" + (f" except {', '.join(map(str, excepts))}" if excepts else "")
    try:
        return ipaddress.ip_network(cidr, strict=False), what
    except ValueError:
        return None, f"{what} (not a valid CIDR)"


def _peer(peer: Any, namespace: str) -> tuple[str, str]:
    """Classify one `from` peer: ('same' | 'none' | 'narrow' | 'open', description). A selector set
    to null is absent, as the API server reads it."""
    if isinstance(peer, Mapping):
        peer = {key: value for key, value in peer.items() if value is not None}
    if not isinstance(peer, Mapping) or not peer:
        return "open", "an empty peer"
    if "ipBlock" in peer:
        network, what = _network(peer)
        # `except` entries are ignored on purpose: 0.0.0.0/0 minus the metadata address is still open.
        return ("open" if network in WHOLE_SPACES else "narrow"), what
    if "namespaceSelector" not in peer:
        return "same", "pods in this namespace"
    reach, what = _namespace_reach(peer.get("namespaceSelector"), namespace)
    if reach == "all" and not selects_everything(peer.get("podSelector")):
        return "narrow", f"pods matching {peer.get('podSelector')} in {what}"
    return {"all": "open", "same": "same", "none": "none"}.get(reach, "narrow"), what


def _covered_space(rules: list[Any]) -> str | None:
    """'IPv4'/'IPv6' when the ipBlocks of all rules together cover that whole address space."""
    networks: list[IPNetwork] = []
    for rule in rules:
        for peer in (rule.get("from") or []) if isinstance(rule, Mapping) else []:
            if isinstance(peer, Mapping) and "ipBlock" in peer:
                network = _network(peer)[0]
                if network is not None:
                    networks.append(network)
    for whole in WHOLE_SPACES:
        same_family = [n for n in networks if n.version == whole.version]
        if same_family and list(ipaddress.collapse_addresses(same_family)) == [whole]:  # type: ignore[type-var]
            return f"IPv{whole.version}"
    return None


def _ingress(spec: Mapping[str, Any], namespace: str) -> tuple[str, str]:
    """What a policy's ingress rules admit: ('none' | 'same' | 'open' | 'narrow', why)."""
    rules = spec.get("ingress")
    if rules is not None and not isinstance(rules, list):
        # the API server refuses it: never read as "admits nothing", which would pass as a deny
        return "open", "its `ingress` is not a list of rules, so what it admits cannot be read"
    if not rules:
        return "none", "admits no ingress"
    seen: list[str] = []
    for number, rule in enumerate(rules, start=1):
        peers = rule.get("from") if isinstance(rule, Mapping) else None
        if not peers:
            return "open", f"ingress rule {number} has no `from`, so it admits every source"
        for verdict, what in (_peer(p, namespace) for p in peers):
            if verdict == "open":
                return "open", f"ingress rule {number} admits {what}"
            if verdict == "narrow":
                seen.append(what)
    space = _covered_space(rules)
    if space:
        blocks = ", ".join(sorted({w for w in seen if w.startswith("ipBlock ")}))
        return "open", f"its ipBlocks {blocks} together cover every {space} address"
    if seen:
        return "narrow", "admits ingress from outside the namespace: " + "; ".join(sorted(set(seen)))
    return "same", "admits ingress only from pods in this namespace"


def classify(policy: KObject, namespace: str) -> tuple[str, str, bool]:
    """('default-deny' | 'opens-all' | 'other', why, admits every source) for one NetworkPolicy.

    'default-deny': selects every pod, governs ingress, admits nothing or only same-namespace pods.
    'opens-all': selects every pod and admits ingress from any source; policies are additive, so
    such a policy cancels any default deny beside it. A policy that opens only some pods is 'other'
    (it is no default deny either way) but still reports that it admits every source.
    """
    spec = policy.get("spec") or {}
    if not isinstance(spec, Mapping):
        spec = {}
    types = spec.get("policyTypes")
    # Kubernetes: without policyTypes a policy always governs Ingress.
    if isinstance(types, list) and "Ingress" not in types:
        return "other", f"policyTypes {types} does not include Ingress", False
    verdict, why = _ingress(spec, namespace)
    pods = spec.get("podSelector")
    if not selects_everything(pods):
        some = f"selects only some pods (podSelector {pods})"
        if verdict == "open":
            return "other", f"{some}, and admits every source to them: {why}", True
        return "other", some, False
    if verdict == "open":
        return "opens-all", f"{why} to every pod", True
    if verdict == "narrow":
        return "other", why, False
    return "default-deny", f"selects every pod and {why}", False


def _not_assessed(ns: NamespaceView) -> tuple[list[dict[str, str]], str]:
    """NetworkPolicies of other API groups (Calico, Antrea …): their semantics are not Kubernetes', so
    they count neither way; named in the evidence and, with their groups, in the message."""
    others = ns.namesakes("NetworkPolicy", NETWORK_POLICY_GROUPS)
    listed = [
        {
            "name": o.name,
            "apiVersion": o.api_version,
            "reason": f"a NetworkPolicy of {o.group}, not networking.k8s.io",
        }
        for o in others
    ]
    groups: dict[str, int] = {}
    for other in others:
        groups[other.group or "the core group"] = groups.get(other.group or "the core group", 0) + 1
    parts = [
        f"{n} NetworkPolicy of {group}" if n == 1 else f"{n} NetworkPolicies of {group}"
        for group, n in groups.items()
    ]
    verb = "is" if len(others) == 1 else "are"
    note = f" ({', '.join(parts)} {verb} not assessed by this check)" if others else ""
    return listed, note


@check(
    "K8S-NET-001",
    scope="cluster.namespace",
    title="Team namespaces deny ingress from other namespaces by default",
    severity="high",
    rationale="""
        Kubernetes lets every pod reach every other pod unless a NetworkPolicy says otherwise, so
        without a default-deny policy one compromised tenant can reach every other tenant's services
        directly. The platform's separation between teams (NCSC principle 3) and its protection of
        service interfaces (principle 11) rest on each team namespace carrying a policy that selects
        all pods and admits ingress only from the same namespace; narrower allow policies (ingress
        controllers, monitoring) are then added on top. A policy that opens every pod to any source
        cancels the default deny, because policies are additive. Only Kubernetes' own
        (networking.k8s.io) NetworkPolicies are judged: a Calico or Antrea policy of the same kind name
        has other semantics, so it is named as not assessed and never counts towards a pass.
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
    reads=["v1/Namespace", "networking.k8s.io/NetworkPolicy"],
)
def test_default_deny_ingress(ns: NamespaceView) -> Iterator[Finding]:
    not_assessed, note = _not_assessed(ns)
    if ns.implied and not ns.network_policies:
        reason = ns.implied_reason("Namespace object or NetworkPolicy", "its network policies")
        found = {"note": ns.note, **({"not_assessed": not_assessed} if not_assessed else {})}
        yield not_applicable(ns.ref, reason + note, evidence=found)
        return
    unreadable = [(p, bad) for p in ns.network_policies if (bad := wrong_types(p.raw, NETWORK_POLICY))]
    readable = [p for p in ns.network_policies if all(p is not q for q, _ in unreadable)]
    verdicts = [(policy, *classify(policy, ns.name)) for policy in readable]
    evidence: dict[str, Any] = {
        "policies": [
            {
                "name": p.name,
                "default_deny": v == "default-deny",
                "opens_all": v == "opens-all",
                "admits_every_source": every,
                "reason": why,
            }
            for p, v, why, every in verdicts
        ]
        + [{"name": p.name, "unreadable": bad} for p, bad in unreadable]
    }
    if not_assessed:
        evidence["not_assessed"] = not_assessed
    if ns.note:
        evidence["note"] = ns.note
    yield _verdict(ns, verdicts, unreadable, evidence, note)


def _verdict(
    ns: NamespaceView,
    verdicts: list[tuple[KObject, str, str, bool]],
    unreadable: list[tuple[KObject, list[str]]],
    evidence: dict[str, Any],
    note: str,
) -> Finding:
    """Failed when a readable policy opens every pod (policies are additive: nothing can close it
    again); else *error* when a policy cannot be read (it may be the one that opens them, as another
    reader takes it); else failed without a default deny, passed with one."""
    deny = [p for p, v, _, _ in verdicts if v == "default-deny"]
    opens = [(p, why) for p, v, why, _ in verdicts if v == "opens-all"]
    if opens:
        policy, why = opens[0]
        return failed(
            ns.ref,
            f"NetworkPolicy '{policy.name}' {why}, which cancels any default deny{ns.short_note}{note}",
            evidence=evidence,
            location=policy.source,
        )
    if unreadable:
        policy, bad = unreadable[0]
        more = len(unreadable) - 1
        others = f" (and {more} other {'policy' if more == 1 else 'policies'})" if more else ""
        return error(
            ns.ref,
            f"NetworkPolicy '{policy.name}'{others} cannot be read, so what the namespace admits cannot be "
            f"told: {listed(bad)} (the API server refuses such a policy){ns.short_note}{note}",
            evidence=evidence,
            location=policy.source,
        )
    if not deny:
        kubernetes = "Kubernetes (networking.k8s.io) " if note else ""
        what = (
            f"has no {kubernetes}NetworkPolicy"
            if not verdicts
            else f"has no {kubernetes}NetworkPolicy that denies ingress by default"
        )
        # Another group's policy may deny what Kubernetes' would: say only what this check can tell.
        so = (
            "no policy this check assesses denies ingress from other namespaces"
            if note
            else "pods accept traffic from every other namespace"
        )
        return failed(
            ns.ref,
            f"namespace {what}: {so}{ns.short_note}{note}",
            evidence=evidence,
            location=ns.location,
        )
    return passed(
        ns.ref,
        f"NetworkPolicy '{deny[0].name}' selects every pod and admits ingress only from this namespace"
        + ns.short_note
        + note,
        evidence=evidence,
        location=deny[0].source,
    )

"""What the ingress checks share: the Ingresses of a namespace, their hosts, and one finding each.

Only Kubernetes' own Ingress (networking.k8s.io, and extensions until Kubernetes 1.22) is read. Hosts
are compared as the API server stores them (it accepts only lower-case DNS names, and `*.` wildcards
as the first label)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kitemark.core.checks import error, not_applicable
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import INGRESS
from kitemark.targets.cluster.view import KObject, NamespaceView, listed, wrong_types

INGRESS_GROUPS = ("networking.k8s.io", "extensions")
READS = ["networking.k8s.io/Ingress", "extensions/Ingress"]
CLASS_ANNOTATION = "kubernetes.io/ingress.class"  # deprecated since 1.18, still honoured by ingress-nginx
NGINX = "nginx.ingress.kubernetes.io/"

INGRESS_DOMAINS = Input(
    "ingress_domains",
    default=[
        # the cluster's own domain: <name>.apps.live.cloud-platform.service.justice.gov.uk
        "apps.live.cloud-platform.service.justice.gov.uk",
        # custom domains teams bring (their own zone delegated to the platform's Route53)
        "service.justice.gov.uk",
        "gov.uk",
    ],
    description=(
        "DNS domains an Ingress host may be in (K8S-ING-005): a host is within a domain when it is the "
        "domain or a name under it, at any depth"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
MAX_DNS_LABEL = Input(
    "ingress_max_dns_label",
    default=57,
    description=(
        "Longest DNS label an Ingress host may have (K8S-ING-004): DNS allows 63, and external-dns "
        "prefixes the first label with `cname-` for its ownership TXT record, so MoJ allows 57"
    ),
    schema={"type": "integer", "minimum": 1, "maximum": 63},
)


def ingresses(ns: NamespaceView) -> list[KObject]:
    return [o for group in INGRESS_GROUPS for o in ns.by_kind.get((group, "Ingress"), [])]


def rule_hosts(obj: KObject) -> list[str | None]:
    """The host of each rule, in order; ``None`` for a rule without one (it serves every host)."""
    rules = obj.get("spec", "rules") or []
    return [r.get("host") or None for r in rules]


def tls_hosts(obj: KObject) -> list[str]:
    return [h for entry in obj.get("spec", "tls") or [] for h in entry.get("hosts") or []]


def all_hosts(obj: KObject) -> list[str]:
    """Every host an Ingress names, rules' first, each once."""
    found = [h for h in rule_hosts(obj) if h] + tls_hosts(obj)
    return list(dict.fromkeys(found))


def covers(pattern: str, host: str) -> bool:
    """Whether a TLS or rule host ``pattern`` matches ``host``: equal, or a `*.` wildcard matching
    exactly one label (as ingress-nginx and X.509 read it)."""
    if pattern == host:
        return True
    if pattern.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first and dot and rest == pattern[2:])
    return False


def ingress_class(obj: KObject) -> tuple[str | None, str]:
    """(class, where it is set): ``spec.ingressClassName`` first, then the deprecated annotation."""
    name = obj.get("spec", "ingressClassName")
    if name:
        return str(name), "spec.ingressClassName"
    legacy = obj.annotations.get(CLASS_ANNOTATION)
    if legacy:
        return legacy, f"annotation {CLASS_ANNOTATION}"
    return None, "not set"


Assess = Callable[[KObject], Finding]


def each_ingress(ns: NamespaceView, assess: Assess, what: str) -> Iterator[Finding]:
    """One finding per Ingress of the namespace: not applicable without any (nothing is exposed, which
    is no evidence of ``what``), *error* for one a field of the wrong type makes unreadable."""
    found = ingresses(ns)
    if not found:
        yield not_applicable(
            ns.ref,
            f"no Ingress in this namespace, so there is no {what} to assess{ns.short_note}",
            evidence={"note": ns.note} if ns.note else None,
        )
        return
    for obj in found:
        yield unreadable(obj) or assess(obj)


def plural(items: Iterable[Any], one: str, many: str) -> str:
    return one if len(list(items)) == 1 else many


MODSEC_CLASSES = Input(
    "modsec_ingress_classes",
    default=["modsec", "modsec-non-prod"],
    description=(
        "Ingress classes whose controllers run ModSecurity (K8S-ING-006): an Ingress of one must enable "
        "it; enabling it on any other class fails (its controller runs no WAF)"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
MODSEC_BLOCKING = Input(
    "modsec_require_blocking",
    default=False,
    description=(
        "Whether K8S-ING-006 also requires `SecRuleEngine On` in the modsecurity-snippet (blocking "
        "mode); the platform's default is detection only, logging without blocking"
    ),
    schema={"type": "boolean"},
)


SHARED_HOST_ANNOTATION = Input(
    "ingress_shared_host_annotation",
    # MoJ's Gatekeeper policy k8singressclash refuses every cross-namespace reuse: no opt-in
    default=None,
    description=(
        "Annotation by which two Ingresses in different namespaces agree to share a host (K8S-ING-003): "
        'both must carry it set to "true"; null (the MoJ default) allows no sharing'
    ),
    schema={"type": ["string", "null"], "minLength": 1},
)


def cluster_ingresses(objects: Iterable[KObject]) -> list[KObject]:
    return [o for o in objects if o.kind == "Ingress" and o.group in INGRESS_GROUPS and o.namespace]


def unreadable(obj: KObject) -> Finding | None:
    """*error* for an Ingress a field of the wrong type makes unreadable, else ``None``."""
    bad = wrong_types(obj.raw, INGRESS)
    if not bad:
        return None
    return error(
        obj.ref,
        f"Ingress '{obj.name}' cannot be read: {listed(bad)} (the API server refuses such an Ingress)",
        evidence={"unreadable": bad},
        location=obj.source,
    )

"""How team services are exposed: TLS, ingress classes, host names and nginx configuration."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import INGRESS_CLASS
from kitemark.targets.cluster.view import ClusterView, KObject, NamespaceView, listed, wrong_types

from .ingress import (
    INGRESS_DOMAINS,
    MAX_DNS_LABEL,
    MODSEC_BLOCKING,
    MODSEC_CLASSES,
    NGINX,
    READS,
    SHARED_HOST_ANNOTATION,
    all_hosts,
    cluster_ingresses,
    covers,
    each_ingress,
    ingress_class,
    plural,
    rule_hosts,
    tls_hosts,
    unreadable,
)
from .snippets import (
    ALLOWED_DIRECTIVES,
    DIRECTIVE_SNIPPETS,
    FORBIDDEN_PATTERN,
    MODSEC_SNIPPET,
    compiled,
    directives,
)
from .snippets import INPUTS as SNIPPET_INPUTS

SSL_REDIRECT = NGINX + "ssl-redirect"


def _tls(obj: KObject) -> Finding:
    hosts = rule_hosts(obj)
    tls = tls_hosts(obj)
    problems: list[str] = []
    hostless = [n for n, host in enumerate(hosts, start=1) if host is None]
    if hostless:
        rules = ", ".join(map(str, hostless))
        problems.append(f"rule {rules} has no host, so it serves any name and no certificate can match it")
    named = [h for h in hosts if h]
    uncovered = [h for h in dict.fromkeys(named) if not any(covers(t, h) for t in tls)]
    if uncovered:
        problems.append(f"no spec.tls entry covers {', '.join(uncovered)}")
    redirect = obj.annotations.get(SSL_REDIRECT)
    if redirect is not None and redirect.strip().lower() == "false" and named:
        problems.append(f'{SSL_REDIRECT}: "false" keeps serving plain HTTP beside HTTPS')
    evidence: dict[str, Any] = {"rule_hosts": hosts, "tls_hosts": tls}
    if redirect is not None:
        evidence[SSL_REDIRECT] = redirect
    if not hosts:
        return failed(
            obj.ref,
            f"Ingress '{obj.name}' has no rules: it serves its default backend for any name, which no "
            "certificate can match",
            evidence=evidence,
            location=obj.source,
        )
    if problems:
        return failed(
            obj.ref, f"Ingress '{obj.name}': " + "; ".join(problems), evidence=evidence, location=obj.source
        )
    return passed(
        obj.ref,
        f"every host of Ingress '{obj.name}' ({', '.join(dict.fromkeys(named))}) is covered by spec.tls",
        evidence=evidence,
        location=obj.source,
    )


@check(
    "K8S-ING-001",
    scope="cluster.namespace",
    title="Every Ingress host is served over TLS",
    severity="high",
    rationale="""
        An Ingress is how a team's service is published to the internet. A host not listed under
        `spec.tls` is served over plain HTTP, so credentials, session cookies and personal data cross
        the internet readable and alterable by anyone on the path (NCSC principle 1, data in transit
        protection; Service Standard 9). ingress-nginx redirects HTTP to HTTPS only for hosts named in
        `spec.tls`, and not at all when `nginx.ingress.kubernetes.io/ssl-redirect` is "false". A rule
        with no host, or an Ingress with no rules, serves every name, which no certificate can match.
        A `spec.tls` entry without `secretName` is accepted: the platform's controllers then present
        their default wildcard certificate (`*.apps.live.cloud-platform.service.justice.gov.uk`).
        A `*.` TLS host covers names one label below it, as ingress-nginx matches it.
    """,
    remediation="""
        List every rule's host under `spec.tls` (with the Secret of a cert-manager Certificate for a
        custom domain; without `secretName` for the cluster's own domain), give every rule a host, and
        remove `nginx.ingress.kubernetes.io/ssl-redirect: "false"`:

            spec:
              tls:
                - hosts: [my-app.apps.live.cloud-platform.service.justice.gov.uk]
                - hosts: [my-app.service.justice.gov.uk]
                  secretName: my-app-tls
              rules:
                - host: my-app.apps.live.cloud-platform.service.justice.gov.uk
                  ...
    """,
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
        "https://kubernetes.github.io/ingress-nginx/user-guide/tls/#server-side-https-enforcement-through-redirect",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/other-topics/custom-domain-cert.html",
    ],
    reads=READS,
)
def test_ingress_tls(ns: NamespaceView) -> Iterator[Finding]:
    yield from each_ingress(ns, _tls, "published host")


EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"


def _dns_names(obj: KObject) -> list[str]:
    """Every DNS name the Ingress makes external-dns publish: its hosts, and the names of its
    external-dns hostname annotation (comma-separated)."""
    extra = [h.strip() for h in obj.annotations.get(EXTERNAL_DNS_HOSTNAME, "").split(",") if h.strip()]
    return list(dict.fromkeys([*all_hosts(obj), *extra]))


def _no_host(obj: KObject) -> Finding:
    return not_applicable(
        obj.ref, f"Ingress '{obj.name}' names no host (K8S-ING-001 reports a rule without a host)"
    )


@check(
    "K8S-ING-004",
    scope="cluster.namespace",
    title="Ingress host names have no DNS label longer than external-dns can publish",
    severity="low",
    rationale="""
        The platform's external-dns publishes each Ingress host in Route53 with a TXT ownership
        record whose name prefixes the first label with `cname-`. DNS allows 63 characters per label,
        so a label longer than 57 makes that record invalid: the Ingress is admitted but its DNS
        record is never created, and the service is unreachable (Service Standard 14, operate a
        reliable service). The platform's Gatekeeper policy `k8shostnamelength` refuses such
        hosts; this check finds the ones admitted before it, or while it ran in dry-run. Rule hosts,
        TLS hosts and the names of the `external-dns.alpha.kubernetes.io/hostname` annotation are
        checked against the input `ingress_max_dns_label` (57).
    """,
    remediation="""
        Shorten the offending label, typically `<ingress>-<namespace>` in the cluster's domain:
        `my-very-long-service-name-preprod.apps.live.cloud-platform.service.justice.gov.uk` →
        `my-svc-preprod.apps.live.cloud-platform.service.justice.gov.uk`, in `spec.rules`,
        `spec.tls` and the DNS annotation alike.
    """,
    references=[
        "https://github.com/ministryofjustice/cloud-platform-terraform-gatekeeper",
        "https://kubernetes-sigs.github.io/external-dns/latest/docs/registry/txt/",
    ],
    reads=READS,
    inputs=[MAX_DNS_LABEL],
)
def test_ingress_dns_label_length(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    limit = int(inputs[MAX_DNS_LABEL.name])

    def assess(obj: KObject) -> Finding:
        names = _dns_names(obj)
        if not names:
            return _no_host(obj)
        long = [
            {"host": name, "label": label, "length": len(label)}
            for name in names
            for label in name.split(".")
            if len(label) > limit
        ]
        evidence = {"hosts": names, "max_label": limit, "too_long": long}
        if long:
            parts = [f"label '{x['label']}' of {x['host']} has {x['length']} characters" for x in long]
            return failed(
                obj.ref,
                f"Ingress '{obj.name}': " + "; ".join(parts) + f" (at most {limit})",
                evidence=evidence,
                location=obj.source,
            )
        return passed(
            obj.ref,
            f"every DNS label of Ingress '{obj.name}' has at most {limit} characters",
            evidence=evidence,
            location=obj.source,
        )

    yield from each_ingress(ns, assess, "published host")


def _domain_of(host: str, domains: list[str]) -> str | None:
    """The configured domain ``host`` is in (the longest), or ``None``; a `*.` wildcard host is in a
    domain when the name below its wildcard is."""
    name = host.removeprefix("*.").rstrip(".")
    within = [d for d in domains if name == d or name.endswith("." + d)]
    return max(within, key=len) if within else None


@check(
    "K8S-ING-005",
    scope="cluster.namespace",
    title="Ingress hosts are within the platform's configured domains",
    severity="medium",
    rationale="""
        External-dns publishes every Ingress host in the platform's Route53 zones, and cert-manager
        requests certificates for them. A host outside the domains the platform serves is either a
        name that never resolves (an unreachable service) or a claim on a domain the organisation
        does not control, where a lapsed or foreign registration lets someone else serve the
        service's users or obtain certificates for its name (NCSC principle 11, external interface
        protection; Service Standard 9). The allowed domains are the input `ingress_domains`: by
        default the cluster's own `apps.live.cloud-platform.service.justice.gov.uk`, MoJ's
        `service.justice.gov.uk` and other `gov.uk` names teams bring as custom domains. A host is
        within a domain when it is the domain or any name under it; rule hosts, TLS hosts and the
        names of the `external-dns.alpha.kubernetes.io/hostname` annotation are checked.
    """,
    remediation="""
        Publish the service under the cluster's domain
        (`<name>-<namespace>.apps.live.cloud-platform.service.justice.gov.uk`) or under a custom
        domain delegated to the platform, or add the organisation's domain to `ingress_domains` in
        kitemark.yaml:

            inputs:
              ingress_domains:
                - apps.live.cloud-platform.service.justice.gov.uk
                - service.justice.gov.uk
                - gov.uk
    """,
    references=[
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/networking/custom-domain-cert.html",
        "https://kubernetes-sigs.github.io/external-dns/latest/docs/annotations/annotations/",
    ],
    reads=READS,
    inputs=[INGRESS_DOMAINS],
)
def test_ingress_hosts_in_domains(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    domains = [str(d).lower().removeprefix("*.").strip(".") for d in inputs[INGRESS_DOMAINS.name]]
    if not domains:
        # No domain to be within is no evidence that a host is where it should be: not a pass.
        yield not_applicable(ns.ref, "no domains are configured (input ingress_domains is empty)")
        return

    def assess(obj: KObject) -> Finding:
        names = _dns_names(obj)
        if not names:
            return _no_host(obj)
        placed = {name: _domain_of(name.lower(), domains) for name in names}
        outside = [name for name, domain in placed.items() if domain is None]
        evidence = {"hosts": placed, "domains": domains, "outside": outside}
        if outside:
            return failed(
                obj.ref,
                f"Ingress '{obj.name}': {', '.join(outside)} "
                f"{plural(outside, 'is', 'are')} in none of the configured domains ({', '.join(domains)})",
                evidence=evidence,
                location=obj.source,
            )
        return passed(
            obj.ref,
            f"every host of Ingress '{obj.name}' is within "
            + ", ".join(sorted({d for d in placed.values() if d})),
            evidence=evidence,
            location=obj.source,
        )

    yield from each_ingress(ns, assess, "published host")


def _snippet_problems(obj: KObject, allowed: set[str], forbidden: re.Pattern[str]) -> tuple[dict, list]:
    """(what each snippet annotation uses, the problems) of one Ingress."""
    seen: dict[str, Any] = {}
    problems: list[str] = []
    for key in (*DIRECTIVE_SNIPPETS, MODSEC_SNIPPET):
        value = obj.annotations.get(key)
        if value is None:
            continue
        short = key.removeprefix(NGINX)
        used = directives(value) if key != MODSEC_SNIPPET else []
        match = forbidden.search(value)
        seen[short] = {"directives": used, **({"forbidden": match.group(0)} if match else {})}
        outside = list(dict.fromkeys(d for d in used if d not in allowed))
        if outside:
            problems.append(f"{short} uses {', '.join(outside)}, not in the allow-list")
        if match:
            problems.append(f"{short} contains forbidden {match.group(0)!r}")
    return seen, problems


@check(
    "K8S-ING-007",
    scope="cluster.namespace",
    title="Ingress snippet annotations use only allowed nginx directives",
    severity="high",
    rationale="""
        ingress-nginx pastes the `server-snippet`, `configuration-snippet`, `auth-snippet` and
        `stream-snippet` annotations verbatim into the nginx.conf of a controller every tenant shares.
        A snippet can therefore read files in the controller pod (its service-account token, which
        can read every Secret in the cluster: CVE-2021-25742), load Lua or modules, proxy to another
        tenant's services or change logging for all of them, so one team's annotation breaks the
        separation between teams (NCSC principle 3) and the protection of the platform's external
        interface (principle 11). The platform keeps snippets for headers, redirects and rate-limit
        tuning, and its Gatekeeper policy `k8ssnippetallowlist` refuses values matching
        `snippet_forbidden_pattern`. This check passes an Ingress whose snippets use only the
        directives of `snippet_allowed_directives` and match no forbidden pattern (the pattern also
        applies to `modsecurity-snippet`, whose ModSecurity rules are not nginx directives).
        Statements are read outside quotes and comments, so a `;` inside a quoted header value does
        not end one.
    """,
    remediation="""
        Use the controller's own annotations instead of a snippet where one exists
        (`nginx.ingress.kubernetes.io/permanent-redirect`, `limit-rps`, `proxy-body-size`,
        `whitelist-source-range` …); keep snippets to header and redirect directives such as

            nginx.ingress.kubernetes.io/configuration-snippet: |
              more_set_headers "X-Frame-Options: DENY";

        or, if the platform team agrees a directive is safe, add it to `snippet_allowed_directives`.
    """,
    references=[
        "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#configuration-snippet",
        "https://github.com/kubernetes/ingress-nginx/issues/7837",
        "https://github.com/ministryofjustice/cloud-platform-terraform-gatekeeper",
    ],
    reads=READS,
    inputs=SNIPPET_INPUTS,
)
def test_ingress_snippets(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = set(inputs[ALLOWED_DIRECTIVES.name])
    forbidden = compiled(inputs[FORBIDDEN_PATTERN.name])

    def assess(obj: KObject) -> Finding:
        seen, problems = _snippet_problems(obj, allowed, forbidden)
        evidence = {"snippets": seen}
        if problems:
            return failed(
                obj.ref,
                f"Ingress '{obj.name}': " + "; ".join(problems),
                evidence=evidence,
                location=obj.source,
            )
        what = (
            f"its snippets ({', '.join(seen)}) use only allowed directives and match no forbidden pattern"
            if seen
            else "it carries no snippet annotation"
        )
        return passed(obj.ref, f"Ingress '{obj.name}': {what}", evidence=evidence, location=obj.source)

    yield from each_ingress(ns, assess, "snippet annotation")


ENABLE_MODSEC = NGINX + "enable-modsecurity"
MODSEC_SNIPPET_KEY = NGINX + "modsecurity-snippet"
SEC_RULE_ENGINE = re.compile(r"^\s*SecRuleEngine\s+(\S+)", re.IGNORECASE | re.MULTILINE)


def _modsec(obj: KObject, classes: list[str], blocking: bool) -> Finding:
    cls, where = ingress_class(obj)
    enabled = obj.annotations.get(ENABLE_MODSEC)
    engines = SEC_RULE_ENGINE.findall(obj.annotations.get(MODSEC_SNIPPET_KEY, ""))
    engine = engines[-1] if engines else None  # the last one set wins, as in ModSecurity
    evidence = {"class": cls, "class_from": where, ENABLE_MODSEC: enabled, "SecRuleEngine": engine}
    on = enabled is not None and enabled.strip().lower() == "true"
    if cls not in classes:
        if on:
            return failed(
                obj.ref,
                f"Ingress '{obj.name}' sets {ENABLE_MODSEC}: \"true\" but its class {cls!r} ({where}) "
                f"is not a ModSecurity class ({', '.join(classes)}): its controller runs no WAF",
                evidence=evidence,
                location=obj.source,
            )
        return not_applicable(
            obj.ref,
            f"Ingress '{obj.name}' class {cls!r} ({where}) is not a ModSecurity class ({', '.join(classes)})",
        )
    problems = []
    if not on:
        problems.append(
            f'{ENABLE_MODSEC} is {enabled!r}, not "true"' if enabled else f"{ENABLE_MODSEC} is not set"
        )
    if engine is not None and engine.lower() == "off":
        problems.append("its modsecurity-snippet sets SecRuleEngine Off")
    elif blocking and (engine is None or engine.lower() != "on"):
        problems.append(
            f"SecRuleEngine is {engine or 'not set (detection only)'}, not On (input modsec_require_blocking)"
        )
    if problems:
        return failed(
            obj.ref,
            f"Ingress '{obj.name}' of class {cls!r}: " + "; ".join(problems),
            evidence=evidence,
            location=obj.source,
        )
    mode = "blocking" if engine and engine.lower() == "on" else "detection only"
    return passed(
        obj.ref,
        f"Ingress '{obj.name}' of class {cls!r} enables ModSecurity ({mode})",
        evidence=evidence,
        location=obj.source,
    )


@check(
    "K8S-ING-006",
    scope="cluster.namespace",
    title="Ingresses on the ModSecurity ingress class enable the web application firewall",
    severity="medium",
    rationale="""
        The platform runs a separate ingress controller with the ModSecurity web application firewall
        and the OWASP Core Rule Set (ingress class `modsec`), for services that must be shielded from
        common web attacks (NCSC principle 11, external interface protection; Service Standard 9).
        ModSecurity is opt-in per Ingress: on that class, an Ingress without
        `nginx.ingress.kubernetes.io/enable-modsecurity: "true"` gets no inspection at all, and a
        `modsecurity-snippet` setting `SecRuleEngine Off` switches it off, so a team believing its
        service is protected is not. The reverse is refused too, as the platform's Gatekeeper policy
        `k8smodsecnginxclass` refuses it: enabling ModSecurity on another class (`default`) claims a
        protection its controller does not run. The classes are the input `modsec_ingress_classes`;
        with `modsec_require_blocking`, detection-only mode (the platform's default, which logs but
        blocks nothing) fails too. The class is `spec.ingressClassName`, or the deprecated
        `kubernetes.io/ingress.class` annotation; an Ingress of another class that does not enable
        ModSecurity is not applicable.
    """,
    remediation="""
        On the ModSecurity class, enable it (and block once the rules are tuned):

            metadata:
              annotations:
                nginx.ingress.kubernetes.io/enable-modsecurity: "true"
                nginx.ingress.kubernetes.io/modsecurity-snippet: |
                  SecRuleEngine On
            spec:
              ingressClassName: modsec

        On the `default` class, remove the ModSecurity annotations or move the Ingress to `modsec`.
    """,
    references=[
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/networking/modsecurity.html",
        "https://kubernetes.github.io/ingress-nginx/user-guide/third-party-addons/modsecurity/",
    ],
    reads=READS,
    inputs=[MODSEC_CLASSES, MODSEC_BLOCKING],
)
def test_ingress_modsecurity(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    classes = list(inputs[MODSEC_CLASSES.name])
    blocking = bool(inputs[MODSEC_BLOCKING.name])
    yield from each_ingress(ns, lambda obj: _modsec(obj, classes, blocking), "ModSecurity setting")


class _HostIndex:
    """The Ingresses serving each rule host, and those serving each name one label below a domain
    (what a `*.` wildcard host of that domain overlaps)."""

    def __init__(self, objects: list[KObject]) -> None:
        self.exact: dict[str, list[KObject]] = defaultdict(list)
        self.children: dict[str, list[KObject]] = defaultdict(list)
        for obj in objects:
            for host in {h.lower() for h in rule_hosts(obj) if h}:
                self.exact[host].append(obj)
                if not host.startswith("*."):
                    self.children[host.partition(".")[2]].append(obj)

    def overlapping(self, host: str) -> list[KObject]:
        parent = host.partition(".")[2]
        if host.startswith("*."):
            return self.exact[host] + self.children[parent]
        return self.exact[host] + self.exact.get("*." + parent, [])


def _shared(obj: KObject, index: _HostIndex, opt_in: str | None) -> Finding:
    hosts = list(dict.fromkeys(h.lower() for h in rule_hosts(obj) if h))
    if not hosts:
        return _no_host(obj)

    def agreed(other: KObject) -> bool:
        return bool(opt_in) and all(
            o.annotations.get(str(opt_in), "").lower() == "true" for o in (obj, other)
        )

    clashes: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []
    for host in hosts:
        for other in index.overlapping(host):
            if other.namespace == obj.namespace:
                continue
            entry = {"host": host, "other": other.ref, "other_hosts": [h for h in rule_hosts(other) if h]}
            (accepted if agreed(other) else clashes).append(entry)
    evidence = {
        "hosts": hosts,
        "shared": clashes,
        "shared_by_agreement": accepted,
        "opt_in_annotation": opt_in,
    }
    if clashes:
        parts = [f"{c['host']} is also served by {c['other']}" for c in clashes]
        how = f'both do not carry {opt_in}: "true"' if opt_in else "no opt-in is configured"
        return failed(
            obj.ref,
            f"Ingress '{obj.name}': " + "; ".join(parts) + f" ({how})",
            evidence=evidence,
            location=obj.source,
        )
    more = (
        f"; shared by agreement ({opt_in}) with {', '.join(sorted({a['other'] for a in accepted}))}"
        if accepted
        else ""
    )
    return passed(
        obj.ref,
        f"no Ingress in another namespace serves a host of Ingress '{obj.name}' ({', '.join(hosts)}){more}",
        evidence=evidence,
        location=obj.source,
    )


@check(
    "K8S-ING-003",
    scope="cluster.cluster",
    title="No Ingress host is served from two namespaces",
    severity="high",
    rationale="""
        ingress-nginx merges every Ingress naming a host into one server, whatever its namespace. A
        team that adds an Ingress for another team's host (or a path under it, or a `*.` wildcard
        over it) takes over part or all of that service's traffic: its users' requests, credentials
        and cookies reach the wrong team's pods, and external-dns may repoint the name. That breaks
        the separation between teams (NCSC principle 3) and the integrity of the service's external
        interface (principle 11). The platform's Gatekeeper policy `k8singressclash` refuses a host
        already used in another namespace; this check finds the ones admitted before it, while it
        ran in dry-run or created while it was lifted for migrations. Every namespace's Ingresses are
        indexed, the platform's own included; findings are given for Ingresses in team namespaces.
        Rule hosts are compared (TLS hosts do not route), exactly and through wildcards one label
        deep. The platform offers no opt-in; the input `ingress_shared_host_annotation` names one
        for platforms that do (both Ingresses must set it to "true").
    """,
    remediation="""
        Serve each host from one namespace: remove the duplicate Ingress (or its rule for that host),
        or, for a planned migration between namespaces, agree it with the platform team, move the
        host, and delete the old Ingress as soon as traffic has moved.
    """,
    references=[
        "https://github.com/ministryofjustice/cloud-platform-terraform-gatekeeper",
        "https://kubernetes.github.io/ingress-nginx/how-it-works/#building-the-nginx-model",
    ],
    reads=READS,
    inputs=[SHARED_HOST_ANNOTATION],
)
def test_ingress_host_unique(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    opt_in = inputs[SHARED_HOST_ANNOTATION.name]
    team = set(cluster.team_namespaces)
    readable: list[KObject] = []
    mine = 0
    for obj in cluster_ingresses(cluster.objects):
        problem = unreadable(obj)
        if obj.namespace in team:
            mine += 1
            if problem is not None:
                yield problem  # its hosts are unknown: it may be the one another Ingress clashes with
        if problem is None:
            readable.append(obj)
    if not mine:
        yield not_applicable(
            f"Cluster/{cluster.cluster}", "no Ingress in a team namespace, so no host is shared"
        )
        return
    index = _HostIndex(readable)
    for obj in readable:
        if obj.namespace in team:
            yield _shared(obj, index, opt_in)


DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"


def _class_exists(obj: KObject, classes: Mapping[str, KObject]) -> Finding:
    name, where = ingress_class(obj)
    defaults = sorted(n for n, c in classes.items() if c.annotations.get(DEFAULT_CLASS, "").lower() == "true")
    evidence = {
        "class": name,
        "class_from": where,
        "ingress_classes": sorted(classes),
        "default_classes": defaults,
    }
    if name is None:
        if defaults:
            return passed(
                obj.ref,
                f"Ingress '{obj.name}' names no class and is served by the default IngressClass "
                f"{', '.join(defaults)}",
                evidence=evidence,
                location=obj.source,
            )
        return failed(
            obj.ref,
            f"Ingress '{obj.name}' names no class and no IngressClass is the default: no controller is "
            "bound to serve it",
            evidence=evidence,
            location=obj.source,
        )
    if name in classes:
        controller = classes[name].get("spec", "controller")
        return passed(
            obj.ref,
            f"Ingress '{obj.name}' class {name!r} ({where}) is an IngressClass of controller {controller}",
            evidence={**evidence, "controller": controller},
            location=obj.source,
        )
    return failed(
        obj.ref,
        f"Ingress '{obj.name}' class {name!r} ({where}) names no IngressClass of the cluster "
        f"({', '.join(sorted(classes))}): no controller serves it",
        evidence=evidence,
        location=obj.source,
    )


@check(
    "K8S-ING-002",
    scope="cluster.cluster",
    title="Every Ingress names an IngressClass that exists",
    severity="medium",
    rationale="""
        The ingress class decides which controller publishes an Ingress, and so which protections
        apply (the platform's `modsec` class runs the ModSecurity WAF; `default` does not). An Ingress
        naming a class no IngressClass defines (a typo, a class retired in an upgrade such as the
        old `nginx`) is served by no controller: the service is silently unreachable (Service
        Standard 14) or, if a controller later claims that name, exposed through one nobody chose
        (NCSC principle 11). The platform's Gatekeeper policy `k8singressvalidclassname` refuses
        unknown classes at admission; this check finds the ones admitted before it. The class is
        `spec.ingressClassName`, or the deprecated `kubernetes.io/ingress.class` annotation; an
        Ingress naming neither is served by the cluster's default IngressClass
        (`ingressclass.kubernetes.io/is-default-class: "true"`), and fails when there is none.
        IngressClasses are cluster-scoped: a snapshot must include them
        (`kubectl get ingressclasses -o yaml`), and a snapshot holding none makes every Ingress an
        *error*, never a pass or a failure. Findings are given for Ingresses in team namespaces.
    """,
    remediation="""
        Name one of the cluster's classes (`kubectl get ingressclasses`), on the MoJ Cloud Platform
        `default` or `modsec`:

            spec:
              ingressClassName: default

        and remove the deprecated `kubernetes.io/ingress.class` annotation.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#ingress-class",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/networking/modsecurity.html",
    ],
    reads=[*READS, "networking.k8s.io/IngressClass"],
)
def test_ingress_class_exists(cluster: ClusterView) -> Iterator[Finding]:
    team = set(cluster.team_namespaces)
    mine = [o for o in cluster_ingresses(cluster.objects) if o.namespace in team]
    if not mine:
        yield not_applicable(
            f"Cluster/{cluster.cluster}", "no Ingress in a team namespace, so no class to check"
        )
        return
    classes = {o.name: o for o in cluster.of_kind("networking.k8s.io/IngressClass")}
    bad_classes = [(o, bad) for o in classes.values() if (bad := wrong_types(o.raw, INGRESS_CLASS))]
    for obj in mine:
        problem = unreadable(obj)
        if problem is not None:
            yield problem
        elif not classes:
            yield error(
                obj.ref,
                f"the input holds no IngressClass, so whether Ingress '{obj.name}' names one that exists "
                "cannot be told (IngressClasses are cluster-scoped: include them in the snapshot)",
                location=obj.source,
            )
        else:
            yield _class_unreadable(obj, bad_classes) or _class_exists(obj, classes)


def _class_unreadable(obj: KObject, bad_classes: list[tuple[KObject, list[str]]]) -> Finding | None:
    """*error* when the class the Ingress names, or (naming none) any class that may be the default,
    cannot be read."""
    name = ingress_class(obj)[0]
    for cls, bad in bad_classes:
        if name is None or cls.name == name:
            return error(
                obj.ref,
                f"IngressClass '{cls.name}' cannot be read: {listed(bad)} (the API server refuses it), "
                f"so which class serves Ingress '{obj.name}' cannot be told",
                evidence={"unreadable": bad},
                location=obj.source,
            )
    return None

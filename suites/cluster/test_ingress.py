"""How team services are exposed: TLS, ingress classes, host names and nginx configuration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check, failed, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import KObject, NamespaceView

from .ingress import NGINX, READS, covers, each_ingress, rule_hosts, tls_hosts

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

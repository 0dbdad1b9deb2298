"""cert-manager Certificates: issued and not about to expire (K8S-OBS-006)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import CERTIFICATE
from kitemark.targets.cluster.view import ClusterView, KObject, listed, wrong_types

from .platform import of_kind, whole_cluster

CERTIFICATE_KIND = "cert-manager.io/Certificate"
CERTIFICATE_EXPIRY_DAYS = Input(
    "certificate_expiry_days",
    default=14,
    description=(
        "A Certificate expiring within this many days fails (cert-manager renews a Let's Encrypt "
        "certificate 30 days before expiry, so one this close has failed to renew)"
    ),
    schema={"type": "integer", "minimum": 0},
)


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ready(cert: KObject) -> Mapping[str, Any] | None:
    for condition in cert.get("status", "conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def _finding(cert: KObject, now: datetime, days: int, whole: bool, why: str) -> Finding:
    problems = wrong_types(cert.raw, CERTIFICATE)
    if problems:
        return error(
            cert.ref,
            f"cannot read the Certificate: {listed(problems)} (the API server refuses such an object)",
            evidence={"unreadable": problems},
            location=cert.source,
        )
    issuer = cert.get("spec", "issuerRef") or {}
    evidence: dict[str, Any] = {
        "issuer": f"{issuer.get('kind', 'Issuer')}/{issuer.get('name')}",
        "notAfter": cert.get("status", "notAfter"),
        "assessed_at": now.isoformat(timespec="seconds"),
    }
    ready = _ready(cert)
    if not cert.get("status"):
        if not whole:
            return not_applicable(cert.ref, f"no status (a manifest, not a live object): {why}")
        return error(cert.ref, "no status: cert-manager has not reported on it", location=cert.source)
    if ready is None or ready.get("status") != "True":
        state = (
            "no Ready condition" if ready is None else f"Ready={ready.get('status')} ({ready.get('reason')})"
        )
        evidence["ready"] = dict(ready) if ready else None
        return failed(cert.ref, f"not issued: {state}", evidence=evidence, location=cert.source)
    not_after = _parse(str(evidence["notAfter"] or ""))
    if not_after is None:
        return error(
            cert.ref,
            f"Ready, but status.notAfter {evidence['notAfter']!r} is not a time: expiry unknown",
            evidence=evidence,
            location=cert.source,
        )
    left = not_after - now
    evidence["days_left"] = left.days
    if left < timedelta(days=days):
        what = "expired" if left.total_seconds() <= 0 else f"expires in {left.days} day(s)"
        return failed(
            cert.ref,
            f"{what} (notAfter {evidence['notAfter']}; the window is {days} days): renewal is failing",
            evidence=evidence,
            location=cert.source,
        )
    return passed(
        cert.ref,
        f"Ready; expires in {left.days} days ({evidence['notAfter']})",
        evidence=evidence,
        location=cert.source,
    )


@check(
    "K8S-OBS-006",
    scope="cluster.cluster",
    title="cert-manager Certificates are issued and not close to expiry",
    severity="high",
    rationale="""
        Every service on the platform is reached over TLS with certificates cert-manager issues and
        renews (the ingress controllers' default certificate and teams' own). A Certificate that is
        not Ready was never issued or failed to renew; one within days of its notAfter has failed
        to renew and will break the service's data-in-transit protection when it expires (NCSC
        principle 1; Service Standard 9 and 14). Each Certificate (cert-manager.io) in every
        namespace, the platform's included, is one result: Ready=True and notAfter more than input
        `certificate_expiry_days` (default 14) days after the time of the assessment; its issuer is
        evidence. No Certificate is not applicable. A Certificate without status is an *error* on a
        live or whole-cluster input (cert-manager has not reported) and not applicable in a
        repository snapshot.
    """,
    remediation="""
        See why it is not issued: `kubectl -n <namespace> describe certificate <name>`, then the
        CertificateRequest, Order and Challenge it names (DNS or HTTP-01 solver, issuer credentials,
        rate limits); `cmctl renew` once fixed.
    """,
    references=["https://cert-manager.io/docs/usage/certificate/", "https://cert-manager.io/docs/faq/acme/"],
    reads=["v1/Namespace", CERTIFICATE_KIND],
    inputs=[CERTIFICATE_EXPIRY_DAYS],
)
def test_certificates(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    certificates = of_kind(cluster, CERTIFICATE_KIND)
    if not certificates:
        yield not_applicable(cluster.cluster, "no cert-manager Certificate in the input")
        return
    now = datetime.now(UTC)
    whole, why = whole_cluster(cluster)
    for cert in certificates:
        yield _finding(cert, now, inputs[CERTIFICATE_EXPIRY_DAYS.name], whole, why)

"""The ingress checks (K8S-ING-00x), through the real collector and scopes, on small snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kitemark.core.model import Finding, Status
from kitemark.testing import compliant_namespace, run_check

P, F, E, NA = Status.PASSED, Status.FAILED, Status.ERROR, Status.NOT_APPLICABLE
APPS = "apps.live.cloud-platform.service.justice.gov.uk"


def ingress(name: str, namespace: str = "team-a", hosts: list[str | None] | None = None, **spec: Any) -> dict:
    """An Ingress with one rule per host (``None``: a rule without a host), TLS for them all unless
    ``tls`` is given, and the platform's `default` class."""
    hosts = [f"{name}-{namespace}.{APPS}"] if hosts is None else hosts
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 80}}}}
    rules = [({"host": h} if h else {}) | {"http": {"paths": [path]}} for h in hosts]
    annotations = spec.pop("annotations", None)
    body = {
        "ingressClassName": "default",
        "tls": [{"hosts": [h for h in hosts if h]}],
        "rules": rules,
        **spec,
    }
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": body}


def snapshot(root: Path, *objects: dict) -> Path:
    namespaces = {o["metadata"].get("namespace") for o in objects} - {None}
    for ns in sorted(namespaces):
        (root / f"{ns}.json").write_text(json.dumps(compliant_namespace(ns)))
    for number, obj in enumerate(objects):
        (root / f"o{number}.json").write_text(json.dumps(obj))
    return root


def run(check_id: str, root: Path, inputs: dict[str, Any] | None = None) -> dict[str, Finding]:
    """The findings of a check by resource."""
    found = run_check(check_id, root, inputs=inputs)
    return {f.resource: f for findings in found.values() for f in findings}


# --- K8S-ING-001 ------------------------------------------------------------------------------------


def test_tls_on_every_host(tmp_path: Path) -> None:
    root = snapshot(
        tmp_path,
        ingress("ok"),
        ingress("missing", tls=[]),
        ingress("wildcard", hosts=[f"a.b.{APPS}"], tls=[{"hosts": [f"*.{APPS}"]}]),
        ingress("hostless", hosts=[None]),
        ingress("norules", rules=[]),
        ingress("plain", annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "False"}),
    )
    found = run("K8S-ING-001", root)
    assert found["Ingress/team-a/ok"].status is P
    assert "no spec.tls entry covers missing-team-a" in found["Ingress/team-a/missing"].message
    # a wildcard covers one label, as ingress-nginx matches it
    assert found["Ingress/team-a/wildcard"].status is F
    assert "rule 1 has no host" in found["Ingress/team-a/hostless"].message
    assert "has no rules" in found["Ingress/team-a/norules"].message
    assert (
        found["Ingress/team-a/plain"].status is F and "ssl-redirect" in found["Ingress/team-a/plain"].message
    )


def test_no_ingress_is_not_applicable_and_an_unreadable_one_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ns.json").write_text(json.dumps(compliant_namespace("team-b")))
    snapshot(tmp_path, ingress("bad", tls={"hosts": ["x"]}))
    found = run("K8S-ING-001", tmp_path)
    assert found["Namespace/team-b"].status is NA
    bad = found["Ingress/team-a/bad"]
    assert bad.status is E and "spec.tls (a dict, not a list)" in bad.message


# --- K8S-ING-004 ------------------------------------------------------------------------------------


def test_dns_labels_within_the_limit_including_the_external_dns_annotation(tmp_path: Path) -> None:
    ok = "a" * 57
    long = "b" * 58
    annotated = {"external-dns.alpha.kubernetes.io/hostname": f"x.{APPS}, {long}.service.justice.gov.uk"}
    root = snapshot(
        tmp_path,
        ingress("ok", hosts=[f"{ok}.{APPS}"]),
        ingress("long", hosts=[f"{long}.{APPS}"]),
        ingress("annotated", annotations=annotated),
        ingress("hostless", hosts=[None]),
    )
    found = run("K8S-ING-004", root)
    assert found["Ingress/team-a/ok"].status is P
    assert f"label '{long}' of {long}.{APPS} has 58 characters" in found["Ingress/team-a/long"].message
    assert found["Ingress/team-a/annotated"].status is F
    assert found["Ingress/team-a/hostless"].status is NA
    # the limit is an input: DNS's own 63 admits the 58-character label
    assert run("K8S-ING-004", root, {"ingress_max_dns_label": 63})["Ingress/team-a/long"].status is P


# --- K8S-ING-005 ------------------------------------------------------------------------------------


def test_hosts_within_the_configured_domains(tmp_path: Path) -> None:
    root = snapshot(
        tmp_path,
        ingress("own"),
        ingress("custom", hosts=["Service.Justice.Gov.UK", "*.team-a.justice.gov.uk"]),
        ingress("foreign", hosts=["team-a.example.com", "team-a.notgov.uk"]),
        ingress("dns", annotations={"external-dns.alpha.kubernetes.io/hostname": "team-a.example.org"}),
    )
    found = run("K8S-ING-005", root)
    assert found["Ingress/team-a/own"].status is P
    assert found["Ingress/team-a/custom"].status is P
    foreign = found["Ingress/team-a/foreign"]
    assert foreign.status is F and "team-a.example.com, team-a.notgov.uk are in none" in foreign.message
    assert "team-a.example.org is in none" in found["Ingress/team-a/dns"].message
    narrowed = run("K8S-ING-005", root, {"ingress_domains": [f"*.{APPS}"]})
    assert narrowed["Ingress/team-a/own"].status is P and narrowed["Ingress/team-a/custom"].status is F
    empty = run("K8S-ING-005", root, {"ingress_domains": []})
    assert [f.status for f in empty.values()] == [NA]


# --- K8S-ING-007 ------------------------------------------------------------------------------------


def test_snippet_directives_are_read_outside_quotes_and_comments() -> None:
    from suites.cluster.snippets import directives

    snippet = """
        more_set_headers "CSP: default-src 'self'; script-src 'none'";  # ; { } in a comment
        if ($host = 'a;b') { return 301 https://x/; }
        set $x "a\\"; lua_x";
        location /t { alias /etc/passwd; }
    """
    assert directives(snippet) == ["more_set_headers", "if", "return", "set", "location", "alias"]


def test_snippets_outside_the_allow_list_fail(tmp_path: Path) -> None:
    conf = "nginx.ingress.kubernetes.io/configuration-snippet"
    root = snapshot(
        tmp_path,
        ingress("none"),
        ingress("headers", annotations={conf: "more_set_headers 'X-Frame-Options: DENY';"}),
        ingress("lua", annotations={conf: "access_by_lua_block { ngx.exit(200) }"}),
        ingress("modsec", annotations={"nginx.ingress.kubernetes.io/modsecurity-snippet": "Include /root/x"}),
        ingress("hidden", annotations={conf: "more_set_headers 'X: y'; proxy_pass http://x"}),
    )
    found = run("K8S-ING-007", root)
    assert found["Ingress/team-a/none"].status is P and "no snippet" in found["Ingress/team-a/none"].message
    assert found["Ingress/team-a/headers"].status is P
    assert "uses access_by_lua_block" in found["Ingress/team-a/lua"].message
    assert "modsecurity-snippet contains forbidden 'root'" in found["Ingress/team-a/modsec"].message
    assert "uses proxy_pass" in found["Ingress/team-a/hidden"].message
    widened = run("K8S-ING-007", root, {"snippet_allowed_directives": ["more_set_headers", "proxy_pass"]})
    assert widened["Ingress/team-a/hidden"].status is P


# --- K8S-ING-006 ------------------------------------------------------------------------------------

ON = "nginx.ingress.kubernetes.io/enable-modsecurity"
SNIP = "nginx.ingress.kubernetes.io/modsecurity-snippet"


def test_modsecurity_on_the_modsec_classes(tmp_path: Path) -> None:
    root = snapshot(
        tmp_path,
        ingress("blocking", ingressClassName="modsec", annotations={ON: "true", SNIP: "SecRuleEngine On\n"}),
        ingress("detecting", ingressClassName="modsec", annotations={ON: "True"}),
        ingress("off", ingressClassName="modsec", annotations={ON: "false"}),
        ingress(
            "last-wins",
            ingressClassName="modsec",
            annotations={ON: "true", SNIP: "SecRuleEngine On\nSecRuleEngine Off"},
        ),
        ingress("legacy", ingressClassName=None, annotations={"kubernetes.io/ingress.class": "modsec"}),
        ingress("default"),
        ingress("claims", annotations={ON: "true"}),
    )
    found = run("K8S-ING-006", root)
    assert (
        found["Ingress/team-a/blocking"].status is P
        and "(blocking)" in found["Ingress/team-a/blocking"].message
    )
    assert found["Ingress/team-a/detecting"].status is P
    assert "is 'false', not \"true\"" in found["Ingress/team-a/off"].message
    assert "SecRuleEngine Off" in found["Ingress/team-a/last-wins"].message
    assert "is not set" in found["Ingress/team-a/legacy"].message
    assert found["Ingress/team-a/default"].status is NA
    assert "runs no WAF" in found["Ingress/team-a/claims"].message
    strict = run("K8S-ING-006", root, {"modsec_require_blocking": True})
    assert strict["Ingress/team-a/blocking"].status is P
    assert "not On (input modsec_require_blocking)" in strict["Ingress/team-a/detecting"].message


# --- K8S-ING-003 ------------------------------------------------------------------------------------


def test_hosts_shared_across_namespaces(tmp_path: Path) -> None:
    shared = f"shared.{APPS}"
    agree = {"example.org/share-host": "true"}
    root = snapshot(
        tmp_path,
        ingress("a", "team-a", hosts=[shared]),
        ingress("b", "team-b", hosts=[shared.upper()]),
        ingress("a2", "team-a", hosts=[shared]),  # same namespace: a path split, not a clash
        ingress("alone", "team-c"),
        ingress("wild", "team-d", hosts=[f"*.sys.{APPS}"], annotations=agree),
        ingress("kube", "kube-system", hosts=[f"k.sys.{APPS}"], annotations=agree),
        ingress("bad", "team-e", hosts=[shared], tls={"x": 1}),
    )
    found = run("K8S-ING-003", root)
    assert f"{shared} is also served by Ingress/team-b/b" in found["Ingress/team-a/a"].message
    assert found["Ingress/team-b/b"].status is F
    assert found["Ingress/team-c/alone"].status is P
    wild = found["Ingress/team-d/wild"]
    assert wild.status is F and "Ingress/kube-system/kube" in wild.message
    assert "Ingress/kube-system/kube" not in found  # the platform's own are compared, not reported
    assert found["Ingress/team-e/bad"].status is E
    agreed = run("K8S-ING-003", root, {"ingress_shared_host_annotation": "example.org/share-host"})
    assert (
        agreed["Ingress/team-d/wild"].status is P and "by agreement" in agreed["Ingress/team-d/wild"].message
    )
    assert agreed["Ingress/team-a/a"].status is F


def test_no_team_ingress_is_not_applicable(tmp_path: Path) -> None:
    root = snapshot(tmp_path, ingress("grafana", "monitoring"))
    assert [f.status for f in run("K8S-ING-003", root).values()] == [NA]


# --- K8S-ING-002 ------------------------------------------------------------------------------------


def ingress_class(name: str, default: bool = False, **meta: Any) -> dict:
    annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    metadata = {"name": name, "annotations": annotations, **meta}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": metadata,
        "spec": {"controller": f"k8s.io/{name}"},
    }


def test_ingress_class_exists(tmp_path: Path) -> None:
    root = snapshot(
        tmp_path,
        ingress_class("default", default=True),
        ingress("named"),
        ingress("typo", ingressClassName="defualt"),
        ingress("implicit", ingressClassName=None),
        ingress("system", "kube-system", ingressClassName="gone"),
    )
    found = run("K8S-ING-002", root)
    assert "is an IngressClass of controller k8s.io/default" in found["Ingress/team-a/named"].message
    assert found["Ingress/team-a/typo"].status is F
    assert "served by the default IngressClass default" in found["Ingress/team-a/implicit"].message
    assert "Ingress/kube-system/system" not in found


def test_no_ingress_class_in_the_input_is_an_error_not_a_failure(tmp_path: Path) -> None:
    found = run("K8S-ING-002", snapshot(tmp_path, ingress("named")))
    assert found["Ingress/team-a/named"].status is E
    assert "the input holds no IngressClass" in found["Ingress/team-a/named"].message


def test_an_unreadable_class_errors_only_the_ingresses_depending_on_it(tmp_path: Path) -> None:
    bad = ingress_class("modsec")
    bad["spec"]["controller"] = ["k8s.io/modsec"]
    root = snapshot(
        tmp_path,
        ingress_class("default"),
        bad,
        ingress("named"),
        ingress("modsec", ingressClassName="modsec"),
        ingress("implicit", ingressClassName=None),
    )
    found = run("K8S-ING-002", root)
    assert found["Ingress/team-a/named"].status is P
    assert "spec.controller (a list, not a string)" in found["Ingress/team-a/modsec"].message
    assert found["Ingress/team-a/modsec"].status is E and found["Ingress/team-a/implicit"].status is E

"""Security switches Kitemark and Kubernetes tooling could read differently are never taken as false.

go-yaml v2 (kubectl, Argo CD) reads `y`/`Y` as true; PyYAML reads them as strings. A string "true"
is refused by the API server. Either way, a switch that is not a boolean is an *error*: a check that
took it as unset would pass a privileged workload."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kitemark.core.model import Status
from kitemark.testing import compliant_namespace, run_check

POD = """apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: team-a}}
spec:
  {pod}
  containers:
    - name: web
      image: registry.example/web:1.0
      securityContext:
        {container}
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities: {{drop: [ALL]}}
        seccompProfile: {{type: RuntimeDefault}}
"""


@pytest.mark.parametrize(
    ("pod", "container", "field"),
    [
        ("hostNetwork: false", "privileged: y", "securityContext.privileged (a str"),
        ("hostNetwork: false", 'privileged: "true"', "securityContext.privileged (a str"),
        ("hostNetwork: Y", "privileged: false", "spec.hostNetwork (a str"),
        ("hostPID: 1", "privileged: false", "spec.hostPID (a int"),
        ("hostNetwork: false", "windowsOptions: [hostProcess]", "windowsOptions (a list, not a mapping"),
        ("hostNetwork: false", "seLinuxOptions: spc_t", "seLinuxOptions (a str, not a mapping"),
        (
            "securityContext: [runAsNonRoot]",
            "privileged: false",
            "spec.securityContext (a list, not a mapping",
        ),
    ],
)
@pytest.mark.parametrize("check_id", ["K8S-POD-001", "K8S-POD-002"])
def test_a_security_switch_that_is_not_a_boolean_is_an_error(
    tmp_path: Path, pod: str, container: str, field: str, check_id: str
) -> None:
    (tmp_path / "ns.yaml").write_text(yaml.safe_dump(compliant_namespace()))
    (tmp_path / "pod.yaml").write_text(POD.format(pod=pod, container=container))
    [finding] = run_check(check_id, tmp_path)["cluster:t/namespace:team-a"]
    assert finding.status == Status.ERROR, finding
    assert "cannot read the pod spec" in finding.message and field in finding.message, finding.message


def test_the_same_pod_with_booleans_is_assessed(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(yaml.safe_dump(compliant_namespace()))
    (tmp_path / "pod.yaml").write_text(POD.format(pod="hostNetwork: false", container="privileged: true"))
    [finding] = run_check("K8S-POD-001", tmp_path)["cluster:t/namespace:team-a"]
    assert finding.status == Status.FAILED and "privileged" in finding.message


def test_capabilities_that_are_not_lists_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(yaml.safe_dump(compliant_namespace()))
    pod = POD.format(pod="hostNetwork: false", container="privileged: false").replace(
        "capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL], add: {SYS_ADMIN: 1}}"
    )
    (tmp_path / "pod.yaml").write_text(pod)
    [finding] = run_check("K8S-POD-002", tmp_path)["cluster:t/namespace:team-a"]
    assert finding.status == Status.ERROR and "capabilities.add (a dict, not a list)" in finding.message

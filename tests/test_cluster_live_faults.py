"""Live reads when the API server fails: a stand-in server (kitemark.testservers.standin) answers
with the faults a real one gives only under load or misconfiguration, and the collector must retry
what is transient, turn what persists into an error of the checks that read the type (never a pass),
and send nothing but GETs. Policies here are short so that no test waits for real backoffs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.kinds import Inventory, TargetSpec
from kitemark.targets.cluster.live.api import ApiReader, RetryPolicy
from kitemark.targets.cluster.live.collect import collect_live
from kitemark.testservers.kube import free_port
from kitemark.testservers.standin import StandIn, standin_apiserver

READS = ("v1/Namespace", "v1/ConfigMap", "v1/Secret", "apps/Deployment")
CONFIG_MAPS = "/api/v1/configmaps"
FAST = RetryPolicy(
    attempts=3, backoff=0.01, max_backoff=0.02, max_retry_after=5.0, connect_timeout=1.0, read_timeout=0.5
)


def namespace(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}


def config_map(name: str, namespace: str = "team-a") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "data": {"colour": "blue"}}


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """Two namespaces and seven ConfigMaps served three to a page; on the way out, proof that the
    collector sent only GETs."""
    with standin_apiserver() as server:
        server.max_page = 3
        server.serve(
            READS,
            {
                "v1/Namespace": [namespace("team-a"), namespace("team-b")],
                "v1/ConfigMap": [config_map(f"cm-{i}") for i in range(7)],
            },
        )
        yield server
        assert {r.method for r in server.requests} <= {"GET"}


def collect(server: StandIn, folder: Path, policy: RetryPolicy = FAST, url: str = "") -> Inventory:
    kubeconfig = server.kubeconfig(folder)
    if url:
        kubeconfig.write_text(kubeconfig.read_text().replace(server.url, url))
    options = {"context": "standin", "resolved": "standin", "kubeconfig": str(kubeconfig)}
    spec = TargetSpec("cluster", "standin", "live:standin", options)
    return collect_live(spec, READS, policy=policy, log=lambda line: None)


def names(inventory: Inventory, kind: str) -> list[str]:
    return [o["metadata"]["name"] for o in inventory["objects"] if o["kind"] == kind]


def listed(inventory: Inventory, read: str) -> dict[str, Any]:
    [resource] = [r for r in inventory["api"]["resources"] if r["read"] == read]
    return dict(resource)


def continues(server: StandIn, path: str = CONFIG_MAPS) -> list[str]:
    """The continue token of each request of ``path``, in order ("" for a first page)."""
    return [r.query.get("continue", "") for r in server.requested(path)]


ALL_SEVEN = [f"cm-{i}" for i in range(7)]


def test_the_stand_in_records_what_is_not_a_get(standin: StandIn) -> None:
    """So that its record can prove a run sent only GETs."""
    request = urllib.request.Request(f"{standin.url}/api/v1/namespaces", b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    assert [(r.method, r.path) for r in standin.requests] == [("POST", "/api/v1/namespaces")]
    standin.requests.clear()  # the fixture's own check would fail on it, as it should


def test_a_clean_read_lists_every_page_once(standin: StandIn, tmp_path: Path) -> None:
    inventory = collect(standin, tmp_path)
    assert inventory["errors"] == []
    assert sorted(names(inventory, "ConfigMap")) == ALL_SEVEN
    assert continues(standin) == ["", "3", "6"]
    assert all(r.query.get("limit") == "500" for r in standin.requested(CONFIG_MAPS))
    assert (inventory["api"]["retries"], listed(inventory, "v1/ConfigMap")["requests"]) == (0, 3)


def test_a_transient_500_mid_list_is_retried_and_the_read_is_complete(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fault(CONFIG_MAPS, 500, times=1, on_continue=True, message="etcdserver: leader changed")
    inventory = collect(standin, tmp_path)
    assert inventory["errors"] == []
    assert sorted(names(inventory, "ConfigMap")) == ALL_SEVEN
    assert continues(standin) == ["", "3", "3", "6"]  # the failed page asked again, not the list
    assert inventory["api"]["retries"] == 1


def test_a_persistent_500_is_an_error_of_that_type_only(standin: StandIn, tmp_path: Path) -> None:
    standin.fault(CONFIG_MAPS, 500, times=None, on_continue=True, message="etcdserver: request timed out")
    inventory = collect(standin, tmp_path)
    [error] = inventory["errors"]
    assert (error["path"], error["types"], error["everywhere"]) == (
        f"GET {CONFIG_MAPS}",
        ["v1/ConfigMap"],
        True,
    )
    assert error["message"] == (
        "cannot list v1/ConfigMap: 500 Internal Server Error: etcdserver: request timed out "
        "(after 3 attempts)"
    )
    assert names(inventory, "ConfigMap") == []  # no partial list passes for the whole
    assert sorted(names(inventory, "Namespace")) == ["team-a", "team-b"]
    assert continues(standin) == ["", "3", "3", "3"]


def test_429_waits_for_retry_after(standin: StandIn, tmp_path: Path) -> None:
    standin.fault(CONFIG_MAPS, 429, times=1, on_continue=True, retry_after="1")
    inventory = collect(standin, tmp_path)
    assert inventory["errors"] == [] and sorted(names(inventory, "ConfigMap")) == ALL_SEVEN
    refused, again = standin.requested(CONFIG_MAPS)[1:3]
    assert refused.query.get("continue") == again.query.get("continue") == "3"
    assert again.at - refused.at >= 0.95  # the policy's own backoff is 0.01 s


def test_retry_after_is_capped_and_a_date_backs_off_as_usual() -> None:
    answers = iter([(429, {"retry-after": "120"}, b"{}"), (429, {"retry-after": "Wed, 21 Oct 2026"}, b"{}")])
    waits: list[float] = []

    def transport(path: str, query: Any, timeout: Any) -> tuple[int, dict[str, str], bytes]:
        return next(answers, (200, {}, b'{"ok": true}'))

    policy = RetryPolicy(backoff=0.5, max_retry_after=30.0)
    assert ApiReader(transport, policy, sleep=waits.append).get("/version") == {"ok": True}
    assert waits[0] == 30.0 and 0.5 <= waits[1] <= 1.0  # attempt 2: 1 s with jitter in [50%, 100%]


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=8.0)
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays), (attempt, min(delays), max(delays))
    assert policy.delay(1, "0") == 0.0 and policy.delay(1, "-5") == 0.0 and policy.delay(1, "2") == 2.0


def test_410_on_a_continue_token_restarts_the_list_without_duplicates(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fault(
        CONFIG_MAPS, 410, times=1, on_continue=True, message="The provided continue parameter is too old"
    )
    inventory = collect(standin, tmp_path)
    assert inventory["errors"] == []
    assert names(inventory, "ConfigMap") == ALL_SEVEN  # each once: the first attempt's page is dropped
    assert continues(standin) == ["", "3", "", "3", "6"]
    assert listed(inventory, "v1/ConfigMap")["restarts"] == 1


def test_a_list_restarted_on_410_is_of_one_moment(standin: StandIn, tmp_path: Path) -> None:
    """Between the expired token and the restart, cm-1 is deleted and cm-9 created: the result is
    the cluster after the change, never pages of both moments (cm-1 from the first, cm-6 twice)."""
    [kind] = [k for k in standin.objects if k.kind == "ConfigMap"]

    def change() -> None:
        standin.objects[kind] = [o for o in standin.objects[kind] if o["metadata"]["name"] != "cm-1"]
        standin.objects[kind].append(config_map("cm-9"))

    standin.fault(CONFIG_MAPS, 410, times=1, on_continue=True, then=change)
    inventory = collect(standin, tmp_path)
    assert names(inventory, "ConfigMap") == ["cm-0", "cm-2", "cm-3", "cm-4", "cm-5", "cm-6", "cm-9"]


def test_a_persistent_410_is_an_error_after_the_restart_limit(standin: StandIn, tmp_path: Path) -> None:
    standin.fault(
        CONFIG_MAPS, 410, times=None, on_continue=True, message="The provided continue parameter is too old"
    )
    inventory = collect(standin, tmp_path)
    [error] = inventory["errors"]
    assert error["types"] == ["v1/ConfigMap"]
    assert error["message"] == (
        "cannot list v1/ConfigMap: 410 Gone: The provided continue parameter is too old "
        "(the list was restarted 3 times)"
    )
    assert continues(standin) == ["", "3"] * 4
    assert names(inventory, "ConfigMap") == []


def test_a_slow_answer_times_out_and_is_retried(standin: StandIn, tmp_path: Path) -> None:
    standin.fault(CONFIG_MAPS, 0, times=1, on_continue=True, delay=2.0)
    started = time.monotonic()
    inventory = collect(standin, tmp_path)
    assert time.monotonic() - started < 2.0  # it did not wait for the slow answer
    assert inventory["errors"] == [] and sorted(names(inventory, "ConfigMap")) == ALL_SEVEN
    assert continues(standin) == ["", "3", "3", "6"] and inventory["api"]["retries"] == 1


def test_a_connection_dropped_mid_answer_is_retried(standin: StandIn, tmp_path: Path) -> None:
    standin.fault(CONFIG_MAPS, 0, times=1, on_continue=True, cut=True)
    inventory = collect(standin, tmp_path)
    assert inventory["errors"] == [] and sorted(names(inventory, "ConfigMap")) == ALL_SEVEN
    assert continues(standin) == ["", "3", "3", "6"] and inventory["api"]["retries"] == 1


def test_a_server_that_stays_slow_is_an_error_naming_the_timeout(standin: StandIn, tmp_path: Path) -> None:
    standin.fault(CONFIG_MAPS, 0, times=None, delay=1.0)
    [error] = collect(standin, tmp_path)["errors"]
    assert error["types"] == ["v1/ConfigMap"]
    assert "no answer" in error["message"] and "timed out" in error["message"]
    assert error["message"].endswith("(after 3 attempts)") and "\n" not in error["message"]


def test_401_is_one_error_of_every_check_naming_the_credentials(standin: StandIn, tmp_path: Path) -> None:
    kubeconfig = standin.kubeconfig(tmp_path, token="expired")
    options = {"context": "standin", "resolved": "standin", "kubeconfig": str(kubeconfig)}
    inventory = collect_live(TargetSpec("cluster", "s", "live:standin", options), READS, policy=FAST)
    [error] = inventory["errors"]
    assert (error["path"], error.get("types"), error["everywhere"]) == ("GET /version", None, True)
    assert error["message"] == (
        "cannot read the cluster: 401 Unauthorized "
        "(the credentials were refused: an expired token or certificate?)"
    )
    assert [r.path for r in standin.requests] == ["/version"]  # a 401 is not retried


def test_403_on_one_type_names_the_missing_rbac_rule(standin: StandIn, tmp_path: Path) -> None:
    denied = 'secrets is forbidden: User "reader" cannot list resource "secrets" in API group ""'
    standin.fault("/api/v1/secrets", 403, times=None, message=denied)
    inventory = collect(standin, tmp_path)
    [error] = inventory["errors"]
    assert error["types"] == ["v1/Secret"]
    assert error["message"] == (
        f"cannot list v1/Secret: 403 Forbidden: {denied} (the reader needs the RBAC rule "
        '{apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]}: see deploy/rbac.yaml)'
    )
    assert sorted(names(inventory, "ConfigMap")) == ALL_SEVEN
    assert len(standin.requested("/api/v1/secrets")) == 1  # a refusal is not retried


def test_an_unreachable_server_is_one_line_error_of_every_check(standin: StandIn, tmp_path: Path) -> None:
    inventory = collect(standin, tmp_path, url=f"http://127.0.0.1:{free_port()}")
    [error] = inventory["errors"]
    assert (error["path"], error.get("types")) == ("GET /version", None)
    message = error["message"]
    assert message.startswith("cannot read the cluster: no answer: ") and "Connection refused" in message
    assert message.endswith("(after 3 attempts)") and "\n" not in message
    assert inventory["objects"] == [] and standin.requests == []


def test_a_failing_group_list_is_an_error_of_every_check_reading_a_group(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fault("/apis", 503, times=None, message="the server is currently unable to handle the request")
    inventory = collect(standin, tmp_path)
    [error] = inventory["errors"]
    assert (error["path"], error.get("types")) == ("GET /apis", None)
    assert error["message"] == (
        "cannot read the cluster: 503 Service Unavailable: "
        "the server is currently unable to handle the request (after 3 attempts)"
    )


def test_the_servers_own_message_is_redacted(standin: StandIn, tmp_path: Path) -> None:
    said = "webhook failed: Post https://admin:kmcanaryurl@hook:443/x, retry with --password=kmcanaryflag"
    standin.fault(CONFIG_MAPS, 500, times=None, message=said)
    [error] = collect(standin, tmp_path)["errors"]
    assert error["message"].startswith("cannot list v1/ConfigMap: 500 Internal Server Error: webhook failed:")
    assert "kmcanary" not in error["message"] and "<redacted hmac:" in error["message"]


def test_a_discovery_answer_that_is_no_document_is_an_error_not_a_crash(
    standin: StandIn, tmp_path: Path
) -> None:
    standin.fault("/apis/apps/v1", 0, times=None, body=["not", "a", "resource", "list"])
    inventory = collect(standin, tmp_path)
    [error] = inventory["errors"]
    assert error["types"] == ["apps/Deployment"]
    assert "not a discovery document" in error["message"]
    assert sorted(names(inventory, "ConfigMap")) == ALL_SEVEN


def test_a_continue_token_given_twice_ends_the_list_with_an_error(standin: StandIn, tmp_path: Path) -> None:
    looping = {"kind": "ConfigMapList", "metadata": {"continue": "3"}, "items": [config_map("again")]}
    standin.fault(CONFIG_MAPS, 0, times=None, on_continue=True, body=looping)
    [error] = collect(standin, tmp_path)["errors"]
    assert error["types"] == ["v1/ConfigMap"]
    assert "the same continue token twice" in error["message"]
    assert continues(standin) == ["", "3"]  # the page with token "3" gave "3" again: no third request


# The run as a user starts it (a subprocess), with the collector's default policy made short: the
# real one waits up to ~15 s before it gives up on a server that does not answer.
FAST_RUN = """
import functools, sys
from kitemark.targets.cluster.live import api
api.RetryPolicy = functools.partial(
    api.RetryPolicy, attempts=3, backoff=0.01, max_backoff=0.02, connect_timeout=1.0, read_timeout=0.5
)
from kitemark.cli import main
raise SystemExit(main(sys.argv[1:]))
"""
SELECTION = ("K8S-INPUT-001", "K8S-OBS-004", "K8S-OBS-005", "K8S-RBAC-004")
DASHBOARD = {
    "metadata": {"name": "app-dashboards", "namespace": "team-a", "labels": {"grafana_dashboard": ""}},
    "data": {"app-dashboard.json": json.dumps({"uid": "app", "title": "App", "panels": []})},
}


def run(
    server: StandIn, folder: Path, url: str = ""
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    kubeconfig = server.kubeconfig(folder)
    if url:
        kubeconfig.write_text(kubeconfig.read_text().replace(server.url, url))
    out = folder / "out"
    args = ["run", "--cluster", "live:standin", "--kubeconfig", str(kubeconfig), "--out", str(out), "-n", "0"]
    for control in SELECTION:
        args += ["--control", control]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FAST_RUN), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,  # no kitemark.yaml of the checkout's
    )
    return done, json.loads((out / "results.json").read_text())


def statuses(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["check_id"], r["unit"]): r["status"] for r in document["results"]}


def errored(document: dict[str, Any], clean: dict[tuple[str, str], str]) -> set[str]:
    """The checks all of whose results became *error* where the clean run had none, after proving
    that every other result is as in the clean run. K8S-INPUT-001, the check that reports the input
    itself, lists every input error: it is left out."""
    got = statuses(document)
    assert set(got) == set(clean)
    assert got[("K8S-INPUT-001", "cluster:standin/input")] == "error"
    changed = {k for k in got if got[k] != clean[k] and k[0] != "K8S-INPUT-001"}
    assert all(got[k] == "error" for k in changed)
    checks = {k[0] for k in changed}
    assert all(got[k] == "error" for k in got if k[0] in checks)  # every unit of those checks
    return checks


def messages(document: dict[str, Any], check: str) -> set[str]:
    return {f["message"] for r in document["results"] if r["check_id"] == check for f in r["findings"]}


@pytest.fixture
def cluster(standin: StandIn) -> StandIn:
    standin.serve(["v1/ConfigMap"], {"v1/ConfigMap": [DASHBOARD]})
    return standin


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """The statuses of the selection on the stand-in's cluster with no fault."""
    folder = tmp_path_factory.mktemp("clean")
    with standin_apiserver() as server:
        server.serve(READS, {"v1/Namespace": [namespace("team-a"), namespace("team-b")]})
        server.serve(["v1/ConfigMap"], {"v1/ConfigMap": [config_map("plain"), DASHBOARD]})
        done, document = run(server, folder)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert document["summary"]["compliant"] and document["summary"]["error"] == 0
    return statuses(document)


def test_the_clean_cluster_is_compliant(clean: dict[tuple[str, str], str]) -> None:
    assert {check for check, _ in clean} == set(SELECTION)
    assert "passed" in clean.values()


def test_a_run_with_a_403_errors_the_checks_reading_that_type_only(
    cluster: StandIn, tmp_path: Path, clean: dict[tuple[str, str], str]
) -> None:
    cluster.fault(
        "/api/v1/secrets", 403, times=None, message='secrets is forbidden: User "reader" cannot list'
    )
    done, document = run(cluster, tmp_path)
    assert done.returncode == 1 and not document["summary"]["compliant"]
    assert errored(document, clean) == {"K8S-RBAC-004"}
    [message] = messages(document, "K8S-RBAC-004")
    assert messages(document, "K8S-INPUT-001") == {message}
    assert message.startswith("GET /api/v1/secrets: cannot list v1/Secret: 403 Forbidden: ")
    assert 'the RBAC rule {apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]}' in message


def test_a_run_with_a_persistent_500_is_not_compliant(
    cluster: StandIn, tmp_path: Path, clean: dict[tuple[str, str], str]
) -> None:
    cluster.fault(CONFIG_MAPS, 500, times=None)
    done, document = run(cluster, tmp_path)
    assert done.returncode == 1 and not document["summary"]["compliant"]
    assert errored(document, clean) == {"K8S-OBS-004", "K8S-OBS-005"}  # what reads v1/ConfigMap
    [message] = messages(document, "K8S-OBS-005")
    assert message == (
        "GET /api/v1/configmaps: cannot list v1/ConfigMap: 500 Internal Server Error (after 3 attempts)"
    )


def test_a_run_on_an_unreachable_server_errors_every_check_in_one_line(tmp_path: Path) -> None:
    with standin_apiserver() as server:
        done, document = run(server, tmp_path, url=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1, done.stderr[-2000:]
    assert document["summary"]["verdict"] != "compliant" and not document["summary"]["compliant"]
    assert {r["status"] for r in document["results"]} == {"error"}
    assert {r["check_id"] for r in document["results"]} == set(SELECTION)
    [message] = {f["message"] for r in document["results"] for f in r["findings"]}
    assert message.startswith("GET /version: cannot read the cluster: no answer: ") and "\n" not in message
    assert "Traceback" not in done.stdout + done.stderr


def test_a_run_with_refused_credentials_says_so(tmp_path: Path) -> None:
    with standin_apiserver() as server:
        server.serve(READS)
        kubeconfig = server.kubeconfig(tmp_path, token="revoked")
        kitemark = [sys.executable, "-m", "kitemark", "run", "--kubeconfig", str(kubeconfig), "-n", "0"]
        args = ["--cluster", "live:standin", "--out", str(tmp_path / "out"), "--control", "K8S-NS-001"]
        done = subprocess.run([*kitemark, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/version")]
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    [message] = {f["message"] for r in document["results"] for f in r["findings"]}
    assert message == (
        "GET /version: cannot read the cluster: 401 Unauthorized "
        "(the credentials were refused: an expired token or certificate?)"
    )
    assert message in done.stdout
    [said] = [line for line in done.stderr.splitlines() if "cannot read the cluster" in line]
    assert said == f"kitemark:   {server.url}: {message}"

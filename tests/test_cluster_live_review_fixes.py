"""Defects the issue-7 review found in live reads and snapshots, each pinned: objects nested too
deep, an interrupted or hostile snapshot, a manifest that cannot be read, a file added to a snapshot,
input errors of unrelated types, a server URL carrying a password, a Retry-After of `nan`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import jsonio
from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, TargetSpec
from kitemark.core.model import Status
from kitemark.targets.cluster.collect import collect
from kitemark.targets.cluster.live import connect
from kitemark.targets.cluster.live.api import ApiFailure, ApiReader, RetryPolicy, describe
from kitemark.targets.cluster.live.collect import collect_live, without_userinfo
from kitemark.targets.cluster.live.discovery import Resource, discover
from kitemark.targets.cluster.live.lister import list_all
from kitemark.targets.cluster.manifest import MANIFEST, write_snapshot
from kitemark.testing import run_on_inventory
from kitemark.testservers.standin import StandIn, standin_apiserver
from tests.test_cluster_live_faults import collect as collect_standin
from tests.test_cluster_live_faults import namespace

READS = ("v1/Namespace", "v1/ConfigMap")


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with standin_apiserver() as server:
        too_deep = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "deep", "namespace": "team-a"},
        }
        too_deep["data"] = deep(150)
        shallow = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "team-b"}}
        server.serve(
            READS,
            {"v1/Namespace": [namespace("team-a"), namespace("team-b")], "v1/ConfigMap": [too_deep, shallow]},
        )
        yield server


def test_an_object_nested_too_deep_is_an_error_of_its_namespace_not_a_crash(
    standin: StandIn, tmp_path: Path
) -> None:
    inventory = collect_standin(standin, tmp_path)
    errors = inventory["errors"]
    assert [e["namespaces"] for e in errors] == [["team-a"]]
    assert "ConfigMap team-a/deep: nested more than 100 levels deep" in errors[0]["message"]
    assert [o["metadata"]["name"] for o in inventory["objects"] if o["kind"] == "ConfigMap"] == ["ok"]
    jsonio.dumps(inventory)  # the inventory can be saved (orjson refuses 255 levels)
    # ... and its snapshot replays the error where it was charged.
    write_snapshot(inventory, tmp_path / "snap")
    again = collect(TargetSpec("cluster", "s", str(tmp_path / "snap")))
    assert [(e["message"], e["namespaces"]) for e in again["errors"]] == [(errors[0]["message"], ["team-a"])]


def _inventory(api_version: str = "v1", resource: str = "namespaces") -> dict[str, Any]:
    obj = {
        "apiVersion": api_version,
        "kind": "Namespace",
        "metadata": {"name": "team-a", "resourceVersion": "1"},
    }
    listed = {"read": "v1/Namespace", "kind": "Namespace", "api_version": api_version, "resource": resource}
    return {"name": "c", "objects": [obj], "errors": [], "api": {"resources": [listed]}}


def test_a_hostile_api_version_cannot_make_a_snapshot_write_outside_its_folder(tmp_path: Path) -> None:
    manifest = write_snapshot(_inventory("../../../escape/v1", ".."), tmp_path / "out" / "snap")
    assert all(f["file"].startswith("unnamed/") for f in manifest["files"])
    assert not list(tmp_path.glob("**/escape*")) and (tmp_path / "out" / "snap" / MANIFEST).is_file()


def test_an_interrupted_snapshot_leaves_no_folder_to_be_taken_for_a_whole_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> bytes:
        raise OSError("No space left on device")

    monkeypatch.setattr(jsonio, "dumps", fail)
    with pytest.raises(OSError):
        write_snapshot(_inventory(), tmp_path / "snap")
    assert not (tmp_path / "snap").exists()  # the partial folder has its own name: `.snap.partial-PID`


def test_an_unreadable_manifest_is_an_error_of_every_check(tmp_path: Path) -> None:
    write_snapshot(_inventory(), tmp_path / "snap")
    (tmp_path / "snap" / MANIFEST).write_text('{"format": "kitemark-snapshot/1", "files": "x"}')
    inventory = collect(TargetSpec("cluster", "s", str(tmp_path / "snap")))
    assert [(e["path"], e.get("everywhere"), e.get("types")) for e in inventory["errors"]] == [
        (MANIFEST, True, None)
    ]
    results = run_on_inventory("K8S-NS-001", inventory)
    assert results and all(f.status is Status.ERROR for found in results.values() for f in found)


def test_a_file_added_to_a_snapshot_is_an_error_of_its_namespaces(tmp_path: Path) -> None:
    write_snapshot(_inventory(), tmp_path / "snap")
    added = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "team-a", "resourceVersion": "9"},
    }
    (tmp_path / "snap" / "added.json").write_text(json.dumps(added))
    errors = collect(TargetSpec("cluster", "s", str(tmp_path / "snap")))["errors"]
    assert [(e["path"], e["namespaces"]) for e in errors] == [("added.json", ["team-a"])]
    assert "not in kitemark-snapshot.json" in errors[0]["message"]


def test_cluster_checks_ignore_input_errors_of_types_they_do_not_read() -> None:
    """K8S-RBAC-002 reads bindings and roles: a live read that could not list Certificates hides none."""
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "ops", "resourceVersion": "1"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "name": "github:webops", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    error = InputError(
        "GET /apis",
        "cannot list cert-manager.io/Certificate",
        file=False,
        types=("cert-manager.io/Certificate",),
        everywhere=True,
    )
    inventory = {
        "kind": "cluster", "target": "cluster:c", "name": "c", "location": "live:c", "mode": "live",
        "errors": [{**error.to_dict(), "namespaces": []}], "objects": [binding], "sources": [None],
    }  # fmt: skip
    for check_id in ("K8S-RBAC-002", "K8S-RBAC-003"):
        statuses = {f.status for found in run_on_inventory(check_id, inventory).values() for f in found}
        assert Status.ERROR not in statuses, (check_id, statuses)
    certificates = {f.status for found in run_on_inventory("K8S-OBS-006", inventory).values() for f in found}
    assert certificates == {Status.ERROR}


def test_a_server_url_with_a_password_is_shown_without_it() -> None:
    assert without_userinfo("https://admin:hunter2@k8s.example:6443/x") == "https://k8s.example:6443/x"
    assert without_userinfo("https://k8s.example:6443") == "https://k8s.example:6443"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Wed, 21 Oct 2026 07:28:00 GMT", "-5"])
def test_any_retry_after_gives_a_finite_wait(value: str) -> None:
    wait = RetryPolicy().delay(1, value)
    assert 0 <= wait <= 30


# From the hostile-input attack on issue 7.


def test_a_token_with_a_line_break_is_never_quoted(standin: StandIn, tmp_path: Path) -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLWNhbmFyeQ.sig"
    (tmp_path / "token").write_text(secret + "\n")  # as `echo $TOKEN > token` leaves it
    kubeconfig = standin.kubeconfig(tmp_path)
    kubeconfig.write_text(
        kubeconfig.read_text().replace("token: standin-token", f"tokenFile: {tmp_path / 'token'}")
    )
    options = {"context": "standin", "resolved": "standin", "kubeconfig": str(kubeconfig)}
    said: list[str] = []
    inventory = collect_live(TargetSpec("cluster", "s", "live:standin", options), READS, log=said.append)
    assert inventory["errors"], "the read cannot have succeeded"
    assert secret not in json.dumps(inventory) + "\n".join(said)


def _pages(tokens: list[str]) -> Any:
    def transport(path: str, query: Any, timeout: Any) -> tuple[int, dict[str, str], bytes]:
        asked = dict(query).get("continue", "")
        following = tokens[tokens.index(asked) + 1] if asked in tokens[:-1] else tokens[0]
        page = {"items": [], "metadata": {"continue": following if path else ""}}
        return 200, {}, json.dumps(page).encode()

    return transport


def test_continue_tokens_going_round_in_circles_end_the_list_with_an_error() -> None:
    resource = Resource("v1/ConfigMap", "", "v1", "ConfigMap", "configmaps", True)
    with pytest.raises(ApiFailure, match="same continue token twice"):
        list_all(ApiReader(_pages(["a", "b", "a"]), RetryPolicy(attempts=1)), resource)


class _Answer:
    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.closed = chunk, count, False

    def read1(self, size: int, decode_content: bool) -> bytes:
        if not self.count:
            return b""
        self.count -= 1
        return self.chunk

    def close(self) -> None:
        self.closed = True


def test_an_answer_larger_than_the_limit_is_refused_not_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect, "MAX_ANSWER", 4 << 20)
    answer = _Answer(b"x" * (1 << 20), 100)  # what a gzip bomb unpacks to, a megabyte at a time
    with pytest.raises(ApiFailure, match="larger than 4 MB"):
        connect._bounded_body(answer, "/api/v1/pods", 60)
    assert answer.closed
    assert connect._bounded_body(_Answer(b"{}", 1), "/api/v1/pods", 60) == b"{}"


def test_a_snapshot_without_a_type_the_checks_read_is_an_error_of_those_checks(tmp_path: Path) -> None:
    inventory = _inventory()
    inventory["api"]["reads"] = ["v1/Namespace", "v1/Pod"]
    write_snapshot(inventory, tmp_path / "snap")
    errors = collect(
        TargetSpec("cluster", "s", str(tmp_path / "snap")), ["v1/Namespace", "v1/Pod", "apps/Deployment"]
    )
    found = {tuple(e["types"]): e["message"] for e in errors["errors"]}
    assert set(found) == {("v1/Pod",), ("apps/Deployment",)}
    assert "has no file for it" in found[("v1/Pod",)]
    assert "was not read when it was taken" in found[("apps/Deployment",)]


def test_a_malformed_item_is_an_error_of_the_checks_reading_its_type_only(tmp_path: Path) -> None:
    with standin_apiserver() as server:
        server.serve(READS, {"v1/Namespace": [namespace("team-a")], "v1/ConfigMap": ["not an object"]})
        inventory = collect_standin(server, tmp_path)
    assert [(e["types"], e["file"]) for e in inventory["errors"]] == [(["v1/ConfigMap"], False)]


# From the re-check of the fixes.


class _Discovery:
    """A reader whose discovery documents are given: path → answer."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def get(self, path: str, query: Any = ()) -> Any:
        return self.answers[path]


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "pods", "kind": "Pod", "namespaced": True, "verbs": 5},
        {"name": "secrets?x=1", "kind": "Pod", "namespaced": True, "verbs": ["get", "list"]},
    ],
)
def test_a_malformed_discovery_entry_is_an_error_never_none_to_list(entry: dict[str, Any]) -> None:
    reader = _Discovery({"/api/v1": {"resources": [entry]}})
    resources, unlisted = discover(reader, ["v1/Pod"])  # type: ignore[arg-type]
    assert resources == [] and [(u.read, u.gap) for u in unlisted] == [("v1/Pod", True)]
    assert "malformed" in unlisted[0].reason


def test_a_group_whose_entry_names_no_usable_version_is_an_error() -> None:
    groups = {"groups": [{"name": "apps", "preferredVersion": "v1", "versions": "v1"}]}
    _, unlisted = discover(_Discovery({"/apis": groups}), ["apps/Deployment"])  # type: ignore[arg-type]
    assert [(u.read, u.gap) for u in unlisted] == [("apps/Deployment", True)]


def test_a_plain_text_error_page_is_not_quoted() -> None:
    said = describe(403, b"forbidden: PLANTED-hunter2-secret")
    assert "PLANTED" not in said and said.startswith("403 Forbidden: an answer that is not JSON")


def test_a_trickling_answer_is_cut_at_its_deadline() -> None:
    class Trickle(_Answer):
        def read1(self, size: int, decode_content: bool) -> bytes:
            time.sleep(0.05)
            return b"x"

    with pytest.raises(TimeoutError):
        connect._bounded_body(Trickle(b"", 0), "/api/v1/pods", 0.2)


def test_an_exec_plugin_that_fails_is_a_usage_error_before_any_request(tmp_path: Path) -> None:
    plugin = tmp_path / "get-token"
    plugin.write_text("#!/bin/sh\necho 'refresh token s3cr3t-value expired' >&2\nexit 1\n")
    plugin.chmod(0o755)
    exec_user = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": str(plugin),
        "interactiveMode": "Never",
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"exec": exec_user}}],
        "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "t",
    }
    (tmp_path / "config").write_text(json.dumps(config))
    with pytest.raises(UsageError) as refused:
        connect.Connection(connect.Target("t", str(tmp_path / "config")), "t")
    assert "the credentials failed" in str(refused.value) and "s3cr3t" not in str(refused.value)


def test_a_snapshot_that_fails_to_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonio, "dumps", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_snapshot(_inventory(), tmp_path / "snap")
    assert list(tmp_path.iterdir()) == []

"""The cluster snapshot collector: reading files, objects → inventory, redaction, scopes."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import pytest

from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.core.redaction import marker
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.cluster.inputs import SYSTEM_NAMESPACES
from kitemark.targets.cluster.scopes import SCOPES
from kitemark.targets.cluster.view import ClusterView, NamespaceView

INPUTS = {"system_namespaces": SYSTEM_NAMESPACES.default}


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def collect(root: Path, **options: object) -> dict:
    inventory = cluster.collect(TargetSpec("cluster", "snap", str(root), dict(options)))
    # Workers only ever see the JSON form: everything below is asserted on it.
    return json.loads(json.dumps(inventory))


def refs(inventory: dict) -> list[str]:
    out = []
    for o in inventory["objects"]:
        ns = o["metadata"].get("namespace")
        out.append(
            f"{o['kind']}/{ns}/{o['metadata']['name']}" if ns else f"{o['kind']}/{o['metadata']['name']}"
        )
    return out


def ns_doc(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


# --- reading files ---------------------------------------------------------------------------------


def test_list_kinds_multidoc_json_and_recursion(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ns.yaml",
        """
        apiVersion: v1
        kind: List
        metadata: {resourceVersion: ""}
        items:
          - {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}
          - {apiVersion: v1, kind: Namespace, metadata: {name: team-b}}
        """,
    )
    write(
        tmp_path,
        "deep/er/policies.yml",
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: default, namespace: team-a}
        spec: {podSelector: {}}
        ---
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: other, namespace: team-b}
        spec: {podSelector: {}}
        """,
    )
    # A raw API list: its items carry neither kind nor apiVersion.
    pods = {
        "apiVersion": "v1",
        "kind": "PodList",
        "metadata": {},
        "items": [{"metadata": {"name": "lonely", "namespace": "team-b"}, "spec": {"containers": []}}],
    }
    (tmp_path / "deep" / "pods.json").write_text(json.dumps(pods))
    write(tmp_path, "notes.md", "not: [a snapshot")
    write(tmp_path, ".git/config.yaml", ns_doc("git"))  # a repository's own folder is never input

    inv = collect(tmp_path)

    assert inv["errors"] == []
    assert inv["files"] == ["deep/er/policies.yml", "deep/pods.json", "ns.yaml"]
    assert refs(inv) == [
        "Namespace/team-a",
        "Namespace/team-b",
        "NetworkPolicy/team-a/default",
        "NetworkPolicy/team-b/other",
        "Pod/team-b/lonely",
    ]
    pod = inv["objects"][-1]
    assert (pod["kind"], pod["apiVersion"]) == ("Pod", "v1")
    sources = dict(zip(refs(inv), inv["sources"], strict=True))
    assert sources["NetworkPolicy/team-b/other"] == "deep/er/policies.yml:7"
    assert sources["Namespace/team-b"] == "ns.yaml:6"
    assert sources["Pod/team-b/lonely"] == "deep/pods.json"
    assert inv["kind"] == "cluster" and inv["target"] == "cluster:snap" and inv["name"] == "snap"
    assert inv["location"] == str(tmp_path)


def test_inventory_is_deterministic_and_json_safe(tmp_path: Path) -> None:
    # An unquoted timestamp is a datetime to YAML; the inventory must still be plain JSON.
    write(tmp_path, "b.yaml", ns_doc("zeta") + "  creationTimestamp: 2024-03-11T09:14:27Z\n")
    write(tmp_path, "a.yaml", ns_doc("alpha"))
    first = cluster.collect(TargetSpec("cluster", "snap", str(tmp_path)))
    assert json.loads(json.dumps(first)) == first
    assert first["objects"][1]["metadata"]["creationTimestamp"] == "2024-03-11T09:14:27Z"
    assert refs(first) == ["Namespace/alpha", "Namespace/zeta"]
    assert collect(tmp_path) == first


def test_identical_copies_keep_the_first_file_and_differing_ones_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ns_doc("team-a") + "  labels: {copy: same}\n")
    write(tmp_path, "b.yaml", ns_doc("team-a") + "  labels: {copy: same}\n")
    write(tmp_path, "c.yaml", ns_doc("team-a") + "  labels: {copy: other}\n")
    inv = collect(tmp_path)
    assert [o["metadata"]["labels"]["copy"] for o in inv["objects"]] == ["same"]
    assert inv["duplicates"] == [{"object": "Namespace/team-a", "kept": "a.yaml:1", "ignored": "b.yaml:1"}]
    (error,) = inv["errors"]
    assert error["message"] == "conflicting copies of Namespace/team-a: a.yaml:1 and c.yaml:1"


# --- redaction -------------------------------------------------------------------------------------

PLAIN = "hunter2-Plain-Secret-Value"
ENCODED = base64.b64encode(b"Zq8vW3tLxP9mK2rBn7Yd-db-password").decode()
IN_LIST = base64.b64encode(b"list-item-secret-9d8c7b6a").decode()
RAW_LIST = base64.b64encode(b"raw-api-list-secret-77d2").decode()
SECRET_STRINGS = [
    PLAIN,
    ENCODED,
    IN_LIST,
    RAW_LIST,
    "Zq8vW3tLxP9mK2rBn7Yd",
    "list-item-secret",
    "raw-api-list",
]


def test_secret_values_never_reach_the_inventory(tmp_path: Path) -> None:
    applied = json.dumps({"kind": "Secret", "data": {"password": ENCODED}, "stringData": {"token": PLAIN}})
    write(
        tmp_path,
        "team-a/secrets.yaml",
        f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: db
          namespace: team-a
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: '{applied}'
            owner: team-a
          managedFields: [{{manager: kubectl, operation: Apply}}]
        type: Opaque
        data:
          password: {ENCODED}
        stringData:
          token: {PLAIN}
        ---
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Secret
            metadata: {{name: listed, namespace: team-a}}
            data: {{api-key: {IN_LIST}}}
        """,
    )
    raw = {
        "apiVersion": "v1",
        "kind": "SecretList",
        "items": [{"metadata": {"name": "raw", "namespace": "team-a"}, "data": {"key": RAW_LIST}}],
    }
    (tmp_path / "team-a" / "secrets.json").write_text(json.dumps(raw))
    # A Deployment's last-applied copy goes too (it may embed env values).
    write(
        tmp_path,
        "team-a/deploy.yaml",
        f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: team-a
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: '{{"env": "{PLAIN}"}}'
        """,
    )

    inv = collect(tmp_path)
    text = json.dumps(inv)
    for value in SECRET_STRINGS:
        assert value not in text
    assert "last-applied-configuration" not in text and "managedFields" not in text
    by_ref = dict(zip(refs(inv), inv["objects"], strict=True))
    db = by_ref["Secret/team-a/db"]
    # Each value's marker carries a keyed digest of it: values can be told apart, not read.
    assert db["data"] == {"password": marker(ENCODED)}
    assert db["stringData"] == {"token": marker(PLAIN)}
    assert db["metadata"]["annotations"] == {"owner": "team-a"}
    assert db["type"] == "Opaque"
    assert by_ref["Secret/team-a/listed"]["data"] == {"api-key": marker(IN_LIST)}
    assert by_ref["Secret/team-a/raw"]["data"] == {"key": marker(RAW_LIST)}
    assert "annotations" not in by_ref["Deployment/team-a/web"]["metadata"]


def test_malformed_secret_file_does_not_leak_its_content(tmp_path: Path) -> None:
    # PyYAML's own str(error) quotes the offending line; the inventory must not.
    write(tmp_path, "bad.yaml", f"kind: Secret\ndata:\n  password: {PLAIN}: oops\n")
    inv = collect(tmp_path)
    assert len(inv["errors"]) == 1
    assert PLAIN not in json.dumps(inv)


# --- bad input -------------------------------------------------------------------------------------


def test_malformed_yaml_and_json_are_input_errors_and_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", ns_doc("team-a"))
    write(
        tmp_path,
        "team-b/bad.yaml",
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: team-b
          labels: [unclosed
        """,
    )
    # A file broken after a valid first document contributes nothing (a half-read file is not evidence).
    write(tmp_path, "team-c/half.yaml", ns_doc("team-c") + "---\nkind: : :\n")
    write(tmp_path, "team-d/bad.json", '{\n  "kind": "Namespace",\n  "metadata": {"name": "team-d",}\n}\n')

    inv = collect(tmp_path)

    assert refs(inv) == ["Namespace/team-a"]
    errors = {e["path"]: e for e in inv["errors"]}
    assert set(errors) == {"team-b/bad.yaml", "team-c/half.yaml", "team-d/bad.json"}
    assert errors["team-b/bad.yaml"]["line"] == 6  # end of stream, where the flow sequence is still open
    assert errors["team-c/half.yaml"]["line"] == 6  # the second document's broken line
    assert errors["team-d/bad.json"]["line"] == 3
    assert errors["team-d/bad.json"]["message"].startswith("invalid JSON: ")
    for e in errors.values():
        assert "\n" not in e["message"] and e["message"]
    assert inv["files"] == ["good.yaml", "team-b/bad.yaml", "team-c/half.yaml", "team-d/bad.json"]


def test_broken_objects_name_file_and_document_and_non_objects_are_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        "mixed.yaml",
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: team-a}
        ---
        apiVersion: v1
        metadata: {name: nameless-kind}
        ---
        just a string
        ---
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: ok, namespace: team-a}}
          - {apiVersion: v1, kind: ConfigMap, metadata: {namespace: team-a}}
          - not an object
        """,
    )
    (tmp_path / "raw.json").write_text(json.dumps({"kind": "Deployment", "metadata": {}}))
    inv = collect(tmp_path)
    assert refs(inv) == ["Namespace/team-a", "ConfigMap/team-a/ok"]
    got = sorted((e["path"], e["line"], e["message"]) for e in inv["errors"])
    # Kubernetes objects that are broken stay input errors ...
    assert got == [
        ("mixed.yaml", 5, "document 2: object has no kind"),
        ("mixed.yaml", 14, "document 4, item 2: ConfigMap has no metadata.name"),
        ("mixed.yaml", 15, "document 4, item 3: expected a Kubernetes object (a mapping), found str"),
        ("raw.json", 1, "document 1: Deployment has no metadata.name"),
    ]
    # ... a document that is no Kubernetes object at all is skipped, with the reason
    assert inv["skipped"] == [
        {
            "path": "mixed.yaml",
            "line": 8,
            "reason": "not a Kubernetes object: a YAML/JSON text, not a mapping with `kind`",
            "holds_resources": False,
        }
    ]


def test_undecodable_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("kind: Namespace\nmetadata: {name: caf\xe9}\n".encode("latin-1"))
    write(tmp_path, "ok.yaml", ns_doc("team-a"))
    inv = collect(tmp_path)
    assert [e["path"] for e in inv["errors"]] == ["latin1.yaml"]
    assert inv["errors"][0]["message"].startswith("cannot read file")
    assert refs(inv) == ["Namespace/team-a"]


def test_missing_directory_and_live_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"snapshot directory not found: .*nowhere"):
        cluster.collect(TargetSpec("cluster", "x", str(tmp_path / "nowhere")))
    with pytest.raises(UsageError, match="is not a snapshot folder"):
        cluster.collect(TargetSpec("cluster", "x", "live:prod"))


def test_snapshot_prefix_and_single_file_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "dump.yaml", ns_doc("team-a"))
    inv = cluster.collect(TargetSpec("cluster", "x", f"snapshot:{tmp_path}"))
    assert refs(inv) == ["Namespace/team-a"]
    inv = cluster.collect(TargetSpec("cluster", "x", str(path)))
    assert inv["files"] == ["dump.yaml"] and inv["sources"] == ["dump.yaml:1"]


# --- scopes ----------------------------------------------------------------------------------------


def test_scopes_unit_ids_and_views(tmp_path: Path) -> None:
    for name in ("team-a", "kube-system", "default", "concourse-main", "team-b"):
        write(tmp_path, f"{name}.yaml", ns_doc(name))
    write(
        tmp_path,
        "objects.yaml",
        """
        {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: default, namespace: team-a}}
        ---
        {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: aws-node, namespace: kube-system}}
        ---
        {apiVersion: apps/v1, kind: Deployment, metadata: {name: orphan, namespace: team-z}}
        """,
    )
    write(tmp_path, "broken.yaml", "kind: [\n")
    inv = collect(tmp_path)

    units = SCOPES["namespace"](inv, INPUTS)
    assert [u.id for u in units] == [
        "cluster:snap/namespace:team-a",
        "cluster:snap/namespace:team-b",
        "cluster:snap/namespace:team-z",
    ]
    assert all(u.target == "cluster:snap" for u in units)
    # broken.yaml names no namespace: it is charged to the namespaces of the objects beside it
    assert [[(e.path, e.line) for e in u.errors] for u in units] == [
        [("broken.yaml", 2)],
        [],
        [("broken.yaml", 2)],
    ]
    team_a, team_b, team_z = (u.data for u in units)
    assert isinstance(team_a, NamespaceView)
    assert team_a.namespace is not None and team_a.namespace.name == "team-a"
    assert [p.ref for p in team_a.network_policies] == ["NetworkPolicy/team-a/default"]
    assert team_b.objects == ()
    # Objects whose Namespace object is missing still get a unit, so they are not silently skipped.
    assert team_z.namespace is None and [o.ref for o in team_z.objects] == ["Deployment/team-z/orphan"]

    (unit,) = SCOPES["cluster"](inv, INPUTS)
    assert unit.id == "cluster:snap/cluster" and unit.errors == []
    view = unit.data
    assert isinstance(view, ClusterView)
    assert [(e.path, e.line) for e in view.errors] == [("broken.yaml", 2)]
    assert str(view.errors[0]).startswith("broken.yaml:2: invalid YAML: ")
    assert view.team_namespaces == ["team-a", "team-b", "team-z"]
    assert "::" not in unit.id and all("::" not in u.id for u in units)
    (whole,) = SCOPES["input"](inv, INPUTS)
    assert whole.id == "cluster:snap/input" and whole.errors == [] and whole.data.errors == view.errors


def test_an_impossible_date_does_not_crash_and_times_stay_strings(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  creationTimestamp: 2020-13-45\n"
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n"
        "  creationTimestamp: 2024-01-02T03:04:05Z\n"
    )
    inventory = cluster.collect(TargetSpec("cluster", "t", str(tmp_path)))
    assert inventory["errors"] == []
    stamps = sorted(o["metadata"]["creationTimestamp"] for o in inventory["objects"])
    assert stamps == ["2020-13-45", "2024-01-02T03:04:05Z"]


def test_a_repeated_key_is_an_input_error_not_last_one_wins(tmp_path: Path) -> None:
    # One YAML dialect for every reader: a Namespace turned into a Secret by a later `kind:` is neither.
    write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\nkind: Secret\n")
    inv = collect(tmp_path)
    assert inv["objects"] == []
    (error,) = inv["errors"]
    assert (error["path"], error["line"]) == ("ns.yaml", 4) and "duplicate key 'kind'" in error["message"]

"""Hostile documents through every reader Kitemark has: each is bounded, and each problem is a one-line
input error (or, for Kitemark's own files, a usage error) naming file and line that never quotes a value.

Readers: the cluster snapshot (YAML and JSON), Gatekeeper suite files, the Terraform collector, the
waivers file and ``kitemark.yaml``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kitemark.core import input_limits, jsonio, yamlfile
from kitemark.core.config import load_config
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.results import validate
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.policies import collect as policies
from kitemark.targets.terraform import collect as terraform
from kitemark.verdicts.waivers import load_waivers

SECRET = "Pr0dS3cret"


def billion_laughs() -> str:
    """~1 KB of YAML whose aliases expand to 10^9 values."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def scalar_laughs() -> str:
    """~180 KB of YAML: one 100 KB string aliased 20,000 times (2 GB once expanded), few nodes."""
    return "s: &s " + "x" * 100_000 + "\nl: [" + ", ".join(["*s"] * 20_000) + "]\n"


DEEP = 100_000
HOSTILE_YAML = {
    # name: (text, what the one-line message says)
    "billion-laughs": (billion_laughs(), "aliases expand to more than"),
    "scalar-laughs": (scalar_laughs(), "aliases repeat more than"),
    "self-alias": ("a: &a [1, *a]\n", "alias refers to an anchor that encloses it"),
    "self-merge": ("a: &a {<<: *a}\n", "alias refers to an anchor that encloses it"),
    "deep-flow": ("a: " + "[" * DEEP + "]" * DEEP + "\n", "nest"),
    "just-too-deep": ("a: " + "[" * input_limits.MAX_DEPTH + "]" * input_limits.MAX_DEPTH + "\n", "nested"),
    "deep-through-alias": ("a: [&x [1], " + "[" * 150 + "*x" + "]" * 150 + "]\n", "nested"),
    "tag-as-password": (f"password: !{SECRET}\n", "unknown YAML tag"),
    "tag-handle": (f"password: !{SECRET}!x y\n", "tag handle"),
    "int": (f"replicas: !!int {SECRET}\n", "cannot be read as !!int"),
    "float": (f"ratio: !!float {SECRET}\n", "cannot be read as !!float"),
    "bool": (f"flag: !!bool {SECRET}\n", "cannot be read as !!bool"),
    "timestamp": (f"when: !!timestamp {SECRET}\n", "!!timestamp value that is not a date"),
    "binary": (f"data: !!binary {SECRET}$\n", "!!binary value that is not base64"),
    "python": (f"x: !!python/object/apply:os.system [{SECRET}]\n", "unknown YAML tag"),
    "digits": ("replicas: " + "7" * 5000 + "\n", "cannot be read as !!int"),
    "undefined-alias": (f"a: *{SECRET}\n", "undefined alias"),
}


def one_line_without_secret(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert SECRET not in message and "lol, lol" not in message


# ------------------------------------------------------------------------------------- cluster snapshot


def collect_cluster(root: Path) -> dict[str, Any]:
    return cluster.collect(TargetSpec("cluster", "snap", str(root)))


def only_error(inventory: dict[str, Any]) -> dict[str, Any]:
    [error] = inventory["errors"]
    one_line_without_secret(error["message"])
    return error


@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_hostile_yaml_in_a_snapshot_is_one_input_error(tmp_path: Path, name: str) -> None:
    text, expected = HOSTILE_YAML[name]
    (tmp_path / "bad.yaml").write_text(text)
    (tmp_path / "good.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    started = time.perf_counter()
    inventory = collect_cluster(tmp_path)
    elapsed = time.perf_counter() - started
    print(f"{name}: {elapsed:.3f}s")
    error = only_error(inventory)
    assert (error["path"], error["line"]) == ("bad.yaml", 1)
    assert expected in error["message"]
    assert any(o["kind"] == "Namespace" for o in inventory["objects"]), "the other file is still read"
    assert elapsed < 10, "bounded: milliseconds, not the minutes an unbounded expansion takes"


def test_a_document_at_the_depth_limit_is_read(tmp_path: Path) -> None:
    depth = input_limits.MAX_DEPTH - 1  # plus the top-level mapping
    (tmp_path / "ok.yaml").write_text("a: " + "[" * depth + "]" * depth + "\n")
    (tmp_path / "ok.json").write_text("[" * input_limits.MAX_DEPTH + "]" * input_limits.MAX_DEPTH)
    assert collect_cluster(tmp_path)["errors"] == []


def test_a_small_use_of_aliases_and_merge_keys_is_read(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: team-a\n"
        "  labels: &labels {team: a}\n  annotations: {<<: *labels, note: x}\ndata: {k: v}\n"
    )
    inventory = collect_cluster(tmp_path)
    assert inventory["errors"] == []
    [cm] = [o for o in inventory["objects"] if o["kind"] == "ConfigMap"]
    assert cm["metadata"]["annotations"] == {"team": "a", "note": "x"}


def test_aliases_to_scalars_are_bounded_by_the_text_they_repeat() -> None:
    started = time.perf_counter()
    with pytest.raises(yaml.YAMLError) as raised:
        yamlfile.loads(scalar_laughs())
    assert time.perf_counter() - started < 1
    message, line = yamlfile.error_text(raised.value)
    assert f"aliases repeat more than {input_limits.MAX_ALIAS_TEXT:,} characters" in message and line == 1
    # Many aliases to small scalars add nodes: the node limit counts them too.
    many = "s: &s x\nl: [" + ", ".join(["*s"] * (input_limits.MAX_ALIAS_NODES + 1)) + "]\n"
    with pytest.raises(yaml.YAMLError, match="aliases expand to more than"):
        yamlfile.loads(many)
    # Just under the text limit is read.
    text = input_limits.MAX_ALIAS_TEXT // 10
    assert len(yamlfile.loads(f"s: &s {'x' * text}\nl: [" + ", ".join(["*s"] * 10) + "]\n")["l"]) == 10
    # Aliased keys and aliases inside an aliased map repeat their text as often as they are expanded.
    keys = "k: &k " + "y" * 1000 + "\nm: &m {*k : v}\nl: [" + ", ".join(["*m"] * 1001) + "]\n"
    with pytest.raises(yaml.YAMLError, match="aliases repeat more than"):
        yamlfile.loads(keys)


def test_ordinary_anchors_are_read() -> None:
    compose = (
        "x-defaults: &defaults\n  restart: always\n  logging: {driver: json-file, options: {max-size: 10m}}\n"
        "  environment: &env {TZ: UTC, LOG_LEVEL: info}\n"
        "services:\n"
        + "".join(
            f"  s{i}:\n    <<: *defaults\n    image: img{i}\n    environment: *env\n" for i in range(300)
        )
    )
    document = yamlfile.loads(compose)
    assert document["services"]["s299"]["restart"] == "always"
    cert = "-----BEGIN CERTIFICATE-----" + "A" * 4000
    values = f"ca: &ca {cert}\n" + "".join(
        f"svc{i}: {{caBundle: *ca, image: &img{i} repo/x}}\n" for i in range(50)
    )
    assert yamlfile.loads(values)["svc49"]["caBundle"] == cert


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("!!timestamp 2030-01-02", "2030-01-02"),
        ("!!timestamp 2030-01-02T03:04:05Z", "2030-01-02T03:04:05Z"),
        ("!!binary aGVs\n    bG8=", "aGVsbG8="),
        ("!!set {a, b}", {"a": None, "b": None}),
        ("!!omap [a: 1, b: 2]", [{"a": 1}, {"b": 2}]),
        ("!!pairs [a: 1, a: 2]", [{"a": 1}, {"a": 2}]),
        ("!!str 12", "12"),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ],
)
def test_explicit_tags_give_the_value_json_would(tmp_path: Path, text: str, value: Any) -> None:
    (tmp_path / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: team-a\ndata:\n  k: {text}\n"
    )
    inventory = collect_cluster(tmp_path)
    assert inventory["errors"] == []
    [cm] = [o for o in inventory["objects"] if o["kind"] == "ConfigMap"]
    assert cm["data"]["k"] == value
    jsonio.dumps(inventory)  # the inventory is written with orjson: nothing it cannot hold


def test_a_later_kind_never_turns_a_namespace_into_a_secret(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\nkind: Secret\ndata: {password: eA==}\n"
    )
    inventory = collect_cluster(tmp_path)
    error = only_error(inventory)
    assert (error["path"], error["line"]) == ("ns.yaml", 5)
    assert "duplicate key 'kind'" in error["message"]
    assert not [o for o in inventory["objects"] if o["kind"] in ("Namespace", "Secret")]


HOSTILE_JSON = {
    "deep": ("[" * DEEP + "]" * DEEP, "nested more than"),
    "just-too-deep": ("[" * (input_limits.MAX_DEPTH + 1) + "]" * (input_limits.MAX_DEPTH + 1), "nested"),
    "lone-surrogate": ('{"kind": "ConfigMap", "metadata": {"name": "a\\ud800"}}', "surrogate"),
    "nan": ('{"kind": "ConfigMap", "spec": {"replicas": NaN}}', "invalid JSON"),
    "infinite": ('{"kind": "ConfigMap", "spec": {"replicas": 1e999}}', "invalid JSON"),
    "broken": (f'{{"password": "{SECRET}" "x"}}', "invalid JSON"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_JSON))
def test_hostile_json_in_a_snapshot_is_one_input_error(tmp_path: Path, name: str) -> None:
    text, expected = HOSTILE_JSON[name]
    (tmp_path / "bad.json").write_text(text)
    started = time.perf_counter()
    inventory = collect_cluster(tmp_path)
    elapsed = time.perf_counter() - started
    print(f"{name}: {elapsed:.3f}s")
    error = only_error(inventory)
    assert error["path"] == "bad.json"
    assert error["line"] in (1, None)  # no line for a depth found after parsing
    assert expected in error["message"]
    assert elapsed < 10


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_FILE_MB", 1)
    big = "a: " + "x" * (2**20) + "\n"
    for name in ("big.yaml", "big.json"):
        (tmp_path / name).write_text(big)
    (tmp_path / "small.yaml").write_text("a: 1\n")
    errors = collect_cluster(tmp_path)["errors"]
    assert sorted(e["path"] for e in errors) == ["big.json", "big.yaml"]
    assert {e["message"] for e in errors} == {"file is larger than the 1 MB limit; not read"}


def test_a_lone_surrogate_in_a_json_snapshot_still_writes_every_report(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    (snapshot / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    (snapshot / "cm.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a\\ud800", "namespace": "team-a"}}'
    )
    out = tmp_path / "out"
    command = ["run", "--cluster", f"s=snapshot:{snapshot}", "--out", str(out), "-n", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "kitemark", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "INTERNALERROR" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    for name in ("results.json", "junit.xml", "compliance.html"):
        assert (out / name).is_file()
    document = json.loads((out / "results.json").read_text())
    validate(document)
    [error] = document["targets"][0]["errors"]
    assert (error["path"], error["line"]) == ("cm.json", 1) and "surrogate" in error["message"]


def test_text_with_a_lone_surrogate_is_written_with_a_replacement_character() -> None:
    value = {"a\ud800": ["x\udfff", "caf\udce9"]}
    assert jsonio.without_surrogates(value) == {"a\ufffd": ["x\ufffd", "caf\ufffd"]}


# ------------------------------------------------------------------------------------- Gatekeeper suites

TEMPLATE = """apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sok
spec:
  crd:
    spec:
      names:
        kind: K8sOk
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sok

        violation[{"msg": "never"}] {
          false
        }
"""
SUITE = """kind: Suite
apiVersion: test.gatekeeper.sh/v1alpha1
metadata:
  name: s
tests:
  - name: t
    template: template.yaml
    constraint: constraint.yaml
    cases:
      - name: c
        object: object.yaml
        assertions: [{violations: no}]
"""
GATEKEEPER = {
    "template.yaml": TEMPLATE,
    "constraint.yaml": "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sOk\nmetadata:\n  name: c\n",
    "object.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: team-a\n",
    "suite.yaml": SUITE,
}


def collect_gatekeeper(root: Path, overrides: dict[str, str]) -> dict[str, Any]:
    for rel, text in {**GATEKEEPER, **overrides}.items():
        (root / rel).write_text(text)
    return policies.collect(TargetSpec("policies", "t", str(root)))


def test_the_gatekeeper_suite_used_below_is_read_without_errors(tmp_path: Path) -> None:
    assert collect_gatekeeper(tmp_path, {})["errors"] == []


@pytest.mark.parametrize("rel", ["object.yaml", "suite.yaml", "constraint.yaml", "template.yaml"])
@pytest.mark.parametrize(
    "name", ["billion-laughs", "self-alias", "deep-flow", "tag-as-password", "timestamp", "int"]
)
def test_hostile_yaml_in_a_gatekeeper_suite_is_one_input_error(tmp_path: Path, rel: str, name: str) -> None:
    text, expected = HOSTILE_YAML[name]
    started = time.perf_counter()
    inventory = collect_gatekeeper(tmp_path, {rel: GATEKEEPER[rel] + text.replace("a: ", "extra: ", 1)})
    elapsed = time.perf_counter() - started
    errors = inventory["errors"]
    assert errors, f"{rel} with {name} must not be read"
    for error in errors:
        one_line_without_secret(error["message"])
    assert any(e["path"] == rel and expected in e["message"] for e in errors), errors
    assert elapsed < 10


def test_a_duplicate_kind_in_a_gatekeeper_object_is_an_input_error(tmp_path: Path) -> None:
    inventory = collect_gatekeeper(tmp_path, {"object.yaml": GATEKEEPER["object.yaml"] + "kind: Secret\n"})
    assert any(
        e["path"] == "object.yaml" and e["line"] == 6 and "duplicate key 'kind'" in e["message"]
        for e in inventory["errors"]
    )


# ----------------------------------------------------------------------- waivers file and kitemark.yaml

WAIVER = (
    "waivers:\n  - check: K8S-NET-001\n    resource: ns/team-a\n    justification: j\n    owner: o\n"
    "    expires: 2030-01-01\n"
)


def config_readers() -> dict[str, Callable[[Path], Any]]:
    return {"waivers": load_waivers, "kitemark.yaml": load_config}


@pytest.mark.parametrize("reader", sorted(config_readers()))
@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_hostile_yaml_in_kitemarks_own_files_is_a_one_line_usage_error(
    tmp_path: Path, reader: str, name: str
) -> None:
    text, expected = HOSTILE_YAML[name]
    path = tmp_path / "file.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(UsageError) as raised:
        config_readers()[reader](path)
    assert time.perf_counter() - started < 10
    message = str(raised.value)
    one_line_without_secret(message)
    assert message.startswith(f"{path}:1: ") and expected in message


@pytest.mark.parametrize("reader", sorted(config_readers()))
def test_a_repeated_key_in_kitemarks_own_files_is_a_usage_error(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "file.yaml"
    repeated = WAIVER + "    owner: someone-else\n" if reader == "waivers" else "inputs: {}\ninputs: {}\n"
    path.write_text(repeated)
    with pytest.raises(UsageError, match=r":[67]: .*duplicate key 'owner'|:2: .*duplicate key 'inputs'"):
        config_readers()[reader](path)


def test_a_waivers_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_FILE_MB", 1)
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVER + "#" + "x" * 2**20 + "\n")
    with pytest.raises(UsageError, match=r"waivers.yaml: file is larger than the 1 MB limit; not read$"):
        load_waivers(path)


# ------------------------------------------------------------------------------------------- Terraform


def collect_terraform(root: Path, text: str) -> dict[str, Any]:
    (root / "main.tf").write_text(text)
    return terraform.collect(TargetSpec("terraform", "t", str(root)))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("locals {\n  a = " + "[" * DEEP + "]" * DEEP + "\n}\n", 2),
        ("locals {\n  a = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n}\n", 2),
        ("locals {\n  a = " + "(" * DEEP + "1" + ")" * DEEP + "\n}\n", 2),
        ("".join("b {\n" for _ in range(DEEP)) + "}\n" * DEEP, input_limits.MAX_DEPTH + 1),
    ],
    ids=["tuple", "object", "parentheses", "blocks"],
)
def test_deeply_nested_hcl_is_one_input_error_before_parsing(tmp_path: Path, text: str, line: int) -> None:
    started = time.perf_counter()
    inventory = collect_terraform(tmp_path, text)
    elapsed = time.perf_counter() - started
    print(f"{elapsed:.3f}s")
    error = only_error(inventory)
    assert (error["path"], error["line"]) == ("main.tf", line)
    assert error["message"] == f"nested more than {input_limits.MAX_DEPTH} levels deep (the limit); not read"
    assert elapsed < 10


def test_hcl_blocks_nested_past_the_limit_in_the_parse_are_refused(tmp_path: Path) -> None:
    # 60 braces pass the text scan; as parsed, each block is two levels (a list of bodies).
    depth = 60
    inventory = collect_terraform(tmp_path, "".join("b {\n" for _ in range(depth)) + "}\n" * depth)
    assert "nested more than" in only_error(inventory)["message"]


def test_an_hcl_number_past_64_bits_is_kept_as_text(tmp_path: Path) -> None:
    inventory = collect_terraform(tmp_path, "locals {\n  big = 123456789012345678901234567890\n}\n")
    assert inventory["errors"] == []
    [file] = inventory["modules"][0]["files"].values()
    assert file["locals"][0]["big"] == "123456789012345678901234567890"
    jsonio.dumps(inventory)


def test_an_hcl_file_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(input_limits, "MAX_HCL_MB", 1)
    inventory = collect_terraform(tmp_path, "# " + "x" * 2**20 + "\n")
    assert only_error(inventory)["message"] == "file is larger than the 1 MB limit; not read"


def test_an_hcl_error_past_the_grammar_quotes_no_value(tmp_path: Path) -> None:
    inventory = collect_terraform(tmp_path, f'locals {{\n  a = "{SECRET}"\n  a = "{SECRET}"\n}}\n')
    assert "already defined" in only_error(inventory)["message"]


def test_the_alias_limits_hold_per_file_not_per_document() -> None:
    """300 documents each just under the limit would otherwise add up to minutes of work."""
    one = "a: &a [" + ", ".join(["x"] * 200) + "]\nb: [" + ", ".join(["*a"] * 100) + "]\n"  # ~20k nodes
    assert yamlfile.loads(one)["b"][0][0] == "x"
    many = "---\n".join([one] * 10)
    started = time.monotonic()
    with pytest.raises(yaml.YAMLError, match="aliases expand to more than"):
        list(yaml.load_all(many, Loader=yamlfile.Loader))
    print(f"refused in {time.monotonic() - started:.3f} s")


def test_a_terraform_file_over_its_size_limit_is_refused_unparsed(tmp_path: Path) -> None:
    """python-hcl2 parses ~0.1 MB a second: a large `.tf` is refused before it costs minutes."""
    from kitemark.targets.terraform import collect as terraform

    module = tmp_path / "m"
    module.mkdir()
    local = '  x{} = "{}"\n'
    body = "".join(local.format(i, "v" * 60) for i in range(40_000))  # ~3 MB of locals
    (module / "main.tf").write_text("locals {\n" + body + "}\n")
    started = time.monotonic()
    inventory = terraform.collect(TargetSpec("terraform", "m", str(module), {}))
    errors = [e for m in inventory["modules"] for e in m["errors"]] + inventory.get("errors", [])
    assert any("2 MB limit" in e["message"] for e in errors), errors
    print(f"refused in {time.monotonic() - started:.3f} s")


def test_a_parse_over_the_wall_clock_limit_is_an_input_error_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Size bounds a parse only loosely (a 26 MB YAML file took 66 s): a deadline stops it."""
    from kitemark.targets.cluster import collect as cluster

    monkeypatch.setattr(input_limits, "MAX_PARSE_SECONDS", 0.05)
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    big = "".join(f"- {{name: n{i}, value: v{i}}}\n" for i in range(200_000))
    (tmp_path / "slow.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: y\nl:\n" + big
    )
    inventory = cluster.collect(TargetSpec("cluster", "snap", str(tmp_path), {}))
    assert [(e["path"], "parsing took longer than 0.05 s" in e["message"]) for e in inventory["errors"]] == [
        ("slow.yaml", True)
    ]
    assert [o["metadata"]["name"] for o in inventory["objects"]] == ["team-a"]


def test_an_hcl_parse_over_the_wall_clock_limit_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_PARSE_SECONDS", 0.05)
    body = "".join(f'  x{i} = "v{i}"\n' for i in range(20_000))
    inventory = collect_terraform(tmp_path, "locals {\n" + body + "}\n")
    assert "parsing took longer than 0.05 s" in only_error(inventory)["message"]


def test_a_gatekeeper_object_over_the_parse_deadline_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kitemark.targets.policies.gatekeeper_yaml import load_documents

    monkeypatch.setattr(input_limits, "MAX_PARSE_SECONDS", 0.05)
    big = "apiVersion: v1\nkind: ConfigMap\nl:\n" + "".join(f"- {{n: {i}}}\n" for i in range(200_000))
    with pytest.raises(yaml.YAMLError, match=r"parsing took longer than 0\.05 s"):
        load_documents(big)

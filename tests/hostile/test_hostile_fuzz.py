"""Random YAML, JSON, HCL, Rego and waiver documents through Kitemark's real readers (the cluster snapshot
reader, Gatekeeper suites, the Terraform collector, the policies collector, the waivers and config
loaders). Whatever the text: no traceback, no hang, every problem a one-line input error (or, for
Kitemark's own files, a one-line usage error), an inventory that can be written, and a file its reference
parser refuses is never read as if it were fine.

Reproducible and small: derandomized, a fixed number of examples per reader, no deadline (the machine
may be busy); the file runs in well under a minute.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kitemark.core import jsonio
from kitemark.core.config import load_config
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.policies import collect as policies
from kitemark.targets.terraform import collect as terraform
from kitemark.verdicts.waivers import load_waivers

PER_EXAMPLE_SECONDS = 10  # each example takes milliseconds; this only catches a hang


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def token_text(tokens: list[str], max_size: int = 60) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(tokens), max_size=max_size).map("".join)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str], tokens: list[str]) -> str:
    """A valid document with a few tokens inserted at random places (mostly near-valid input)."""
    text = draw(valid)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(tokens)) + text[at:]
    return text


def nested(opening: str, closing: str) -> st.SearchStrategy[str]:
    """Brackets nested from a few levels to far past the depth limit, sometimes left unbalanced."""
    return st.tuples(st.integers(1, 3000), st.integers(0, 3000)).map(
        lambda counts: opening * counts[0] + closing * counts[1]
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)

YAML_TOKENS = [
    *"abk01 :-\n\t[]{},&*!|>'\"#%@`?.\\",
    "  ",
    "\n  ",
    "- ",
    ": ",
    "kind: ",
    "apiVersion: v1\n",
    "metadata:\n  name: x\n",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "&b [*a, *a, *a]",
    "<<: *a\n",
    "!!int ",
    "!!float ",
    "!!timestamp ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!str ",
    "!Secret ",
    "!!python/object ",
    "%TAG ! x\n",
    "%YAML 1.1\n",
    '"\\ud800"',
    "2030-02-30",
    "1" * 40,
    "0x",
    ".nan",
    "{{ .Values.x }}",
]
JSON_TOKENS = [
    *'{}[]":,0123456789eE.+-',
    "true",
    "false",
    "null",
    '"kind"',
    '"\\ud800"',
    '"\\u00e9"',
    "NaN",
    "1e999",
]
HCL_TOKENS = [
    'resource "aws_s3_bucket" "b" {\n',
    'module "m" {\n',
    "locals {\n",
    'variable "v" {\n',
    "}\n",
    " = ",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    '"',
    "${",
    "%{",
    "<<EOF\n",
    "EOF\n",
    "#",
    "//",
    "/*",
    "*/",
    "var.v",
    "local.x",
    "1",
    "1e999",
    "1" * 40,
    "\n",
    "for x in var.v : ",
    "?",
    ":",
    "...",
    "count",
    "for_each",
    'dynamic "d" {\n',
    'source = "./m"\n',
    "password = ",
    "\\",
    "\t",
]
REGO_TOKENS = [
    "package p\n",
    "import rego.v1\n",
    "import future.keywords\n",
    "if ",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ":=",
    "==",
    "=",
    "some x in ",
    "every x in ",
    "with ",
    "input.x",
    "data.p",
    '"s"',
    "`raw`",
    "test_a ",
    "default ",
    "not ",
    "\n",
    " ",
    "contains ",
    "1",
    "count(",
    "sprintf(",
    "x",
    "_",
    ";",
    "#",
    "else ",
    ".",
    "|",
]
WAIVER_KEYS = ["check", "resource", "justification", "owner", "expires", "target", "id", "other"]

yaml_texts = st.one_of(
    token_text(YAML_TOKENS),
    mutated(json_values.map(lambda v: yaml.safe_dump(v, default_flow_style=False)), YAML_TOKENS),
    nested("[", "]").map(lambda brackets: "a: " + brackets),
)
json_texts = st.one_of(
    token_text(JSON_TOKENS),
    mutated(json_values.map(json.dumps), JSON_TOKENS),
    nested("[", "]"),
)
hcl_texts = st.one_of(
    token_text(HCL_TOKENS),
    mutated(
        st.just('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  tags = {a = [1, "x"]}\n}\n'), HCL_TOKENS
    ),
    nested("[", "]").map(lambda brackets: "locals {\n  a = " + brackets + "\n}\n"),
)
rego_texts = st.one_of(
    token_text(REGO_TOKENS),
    mutated(
        st.just("package p\nimport rego.v1\nallow if input.x == 1\ntest_allow if allow with input as {}\n"),
        REGO_TOKENS,
    ),
)
waiver_texts = st.one_of(
    yaml_texts,
    st.lists(
        st.dictionaries(st.sampled_from(WAIVER_KEYS), json_values | st.dates().map(str), max_size=8),
        max_size=3,
    ).map(lambda entries: yaml.safe_dump({"waivers": entries})),
)


def one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message


def timed(read: Any, *args: Any) -> Any:
    started = time.perf_counter()
    result = read(*args)
    assert time.perf_counter() - started < PER_EXAMPLE_SECONDS
    return result


def written(inventory: dict[str, Any]) -> None:
    """The inventory is saved as evidence with orjson: anything read must be writable."""
    jsonio.dumps(inventory, sort_keys=True)
    for error in inventory.get("errors", []):
        one_line(error["message"])


def reference_refuses_yaml(text: str) -> bool:
    try:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        return True
    except Exception:  # PyYAML's own crashes (`!!timestamp x`) say nothing about validity
        return False
    return False


def reference_refuses_json(text: str) -> bool:
    if not text.strip():
        return False  # an empty file holds no document
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return True
    return False


def cluster_file(root: Path, name: str, text: str) -> dict[str, Any]:
    for old in root.iterdir():
        old.unlink()
    (root / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    inventory: dict[str, Any] = timed(cluster.collect, TargetSpec("cluster", "fuzz", str(root)))
    written(inventory)
    return inventory


def reported(inventory: dict[str, Any], name: str) -> bool:
    """The file is named as an input error or as skipped (with its reason)."""
    return any(entry["path"] == name for entry in inventory["errors"] + inventory.get("skipped", []))


@fuzz(150)
@given(text=yaml_texts)
def test_fuzz_cluster_snapshot_yaml(tmp_path: Path, text: str) -> None:
    inventory = cluster_file(tmp_path, "fuzz.yaml", text)
    if reference_refuses_yaml(text):
        assert reported(inventory, "fuzz.yaml"), "invalid YAML must be an input error"


@fuzz(120)
@given(text=json_texts)
def test_fuzz_cluster_snapshot_json(tmp_path: Path, text: str) -> None:
    inventory = cluster_file(tmp_path, "fuzz.json", text)
    if reference_refuses_json(text):
        assert reported(inventory, "fuzz.json"), "invalid JSON must be an input error"


GATEKEEPER = {
    "template.yaml": (
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sok\n"
        "spec:\n  crd:\n    spec:\n      names:\n        kind: K8sOk\n  targets:\n"
        "    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package k8sok\n"
        '        violation[{"msg": "never"}] {\n          false\n        }\n'
    ),
    "constraint.yaml": "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sOk\nmetadata:\n  name: c\n",
    "object.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n",
    "suite.yaml": (
        "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: s\ntests:\n  - name: t\n"
        "    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n      - name: c\n"
        "        object: object.yaml\n        assertions: [{violations: no}]\n"
    ),
}


@fuzz(30)
@given(rel=st.sampled_from(["object.yaml", "suite.yaml", "constraint.yaml"]), text=yaml_texts)
def test_fuzz_gatekeeper_suite_files(tmp_path: Path, rel: str, text: str) -> None:
    for name, body in {**GATEKEEPER, rel: text}.items():
        (tmp_path / name).write_text(body, encoding="utf-8", errors="surrogatepass")
    try:
        inventory = timed(policies.collect, TargetSpec("policies", "fuzz", str(tmp_path)))
    except UsageError as exc:  # a suite.yaml that is not a Suite leaves nothing to assess
        assert rel == "suite.yaml" and "no .rego files or Gatekeeper suites" in str(exc)
        one_line(str(exc))
        return
    written(inventory)
    if reference_refuses_yaml(text):
        assert any(e["path"] == rel for e in inventory["errors"]), "invalid YAML must be an input error"


@fuzz(120)
@given(text=hcl_texts)
def test_fuzz_terraform_files(tmp_path: Path, text: str) -> None:
    (tmp_path / "main.tf").write_text(text)
    inventory = timed(terraform.collect, TargetSpec("terraform", "fuzz", str(tmp_path)))
    written(inventory)
    try:
        hcl2.loads(text)
        refused = False
    except Exception:
        refused = True
    if refused:
        assert any(e["path"] == "main.tf" for e in inventory["errors"]), "invalid HCL must be an input error"


@fuzz(80)
@given(text=rego_texts)
def test_fuzz_rego_files(tmp_path: Path, text: str) -> None:
    (tmp_path / "p.rego").write_text(text)
    inventory = timed(policies.collect, TargetSpec("policies", "fuzz", str(tmp_path)))
    written(inventory)
    assert [entry["path"] for entry in inventory["rego_files"]] == ["p.rego"], (
        "the file is listed, not dropped"
    )


def usage_error_or_value(read: Any, path: Path) -> None:
    try:
        timed(read, path)
    except UsageError as exc:
        one_line(str(exc))


@fuzz(120)
@given(text=waiver_texts)
def test_fuzz_waivers_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    usage_error_or_value(load_waivers, path)
    if reference_refuses_yaml(text):
        with pytest.raises(UsageError):
            load_waivers(path)


@fuzz(80)
@given(text=yaml_texts)
def test_fuzz_kitemark_yaml(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kitemark.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    usage_error_or_value(load_config, path)

"""The terraform collector: module discovery, parsing with line numbers, input errors, JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kitemark.core import resources
from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import FileLocation, Status
from kitemark.targets.terraform.collect import collect, module_units, unclosed_brace_line
from kitemark.testing import default_inputs, run_check
from kitemark.testing import write_files as write

TF_CHECKS = ("TF-S3-001", "TF-TAG-001", "TF-VER-001")
load_checks()
INPUTS = default_inputs()

VERSIONS = """terraform {
  required_version = ">= 1.2.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 4.0"
    }
  }
}
"""


def spec(root: Path, name: str = "t") -> TargetSpec:
    return TargetSpec("terraform", name, str(root))


def test_parses_blocks_with_their_lines(tmp_path: Path) -> None:
    root = write(
        tmp_path / "queues",
        {"main.tf": '# a comment\n\nresource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n'},
    )
    inventory = collect(spec(root))
    [module] = inventory["modules"]
    body = module["files"]["main.tf"]["resource"][0]["aws_sqs_queue"]["jobs"]
    assert (body["__start_line__"], body["__end_line__"], body["name"]) == (3, 5, "jobs")
    [unit] = module_units(inventory, INPUTS)
    assert unit.id == "terraform:t/queues"  # the root module is named after the location directory
    [queue] = unit.data.resources
    assert (queue.address, queue.identity) == ("aws_sqs_queue.jobs", "queues/aws_sqs_queue.jobs")
    assert queue.location == "main.tf:3"  # where the file is: relative to the target folder, not the name
    assert {k: inventory[k] for k in ("kind", "target", "name", "errors")} == {
        "kind": "terraform",
        "target": "terraform:t",
        "name": "t",
        "errors": [],
    }


def test_discovers_nested_modules_and_skips_hidden_dirs(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "main.tf": 'module "s3" {\n  source = "./modules/s3"\n}\n',
            "modules/s3/main.tf": 'resource "aws_s3_bucket" "b" {\n}\n',
            "modules/s3/nested/deep/x.tf": "locals {\n  a = 1\n}\n",
            "modules/empty/README.md": "no terraform here",
            ".terraform/modules/s3/main.tf": 'resource "aws_s3_bucket" "cached" {\n}\n',
            ".git/hooks/x.tf": "locals {}\n",
            "modules/s3/.hidden.tf": "this is not { valid",
            "modules/s3/main.tf~": "backup { not valid",
        },
    )
    inventory = collect(spec(root, "tree"))
    assert [m["path"] for m in inventory["modules"]] == ["infra", "modules/s3", "modules/s3/nested/deep"]
    assert list(inventory["modules"][1]["files"]) == ["main.tf"]
    units = module_units(inventory, INPUTS)
    assert [u.id for u in units] == [
        "terraform:tree/infra",
        "terraform:tree/modules/s3",
        "terraform:tree/modules/s3/nested/deep",
    ]
    [bucket] = units[1].data.resources
    assert (bucket.identity, bucket.location) == ("modules/s3/aws_s3_bucket.b", "modules/s3/main.tf:1")
    [call] = units[0].data.module_calls
    assert (call.name, call.attrs["source"]) == ("s3", "./modules/s3")


def test_malformed_file_errors_its_module_and_the_rest_is_checked(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "good/versions.tf": VERSIONS,
            "bad/versions.tf": VERSIONS,
            "bad/main.tf": 'locals {\n  a = 1\n}\n\nresource "aws_s3_bucket" "b" {\n  bucket = "x"\n\n',
        },
    )
    inventory = collect(spec(tmp_path))
    [problem] = inventory["errors"]
    assert problem["path"] == "bad/main.tf"
    assert problem["line"] == 5  # the brace that is never closed
    assert "never closed" in problem["message"] and "\n" not in problem["message"]
    bad, good = module_units(inventory, INPUTS)
    assert list(bad.data.files) == ["versions.tf"]  # the module's other files still parse
    for check_id in TF_CHECKS:
        findings = evaluate(check_function(check_id), bad, INPUTS)
        assert [f.status for f in findings] == [Status.ERROR]
        assert findings[0].where == "bad/main.tf:5"
        assert "bad/main.tf:5" in findings[0].message
        good_findings = evaluate(check_function(check_id), good, INPUTS)
        assert Status.ERROR not in {f.status for f in good_findings}
    assert [f.status for f in evaluate(check_function("TF-VER-001"), good, INPUTS)] == [Status.PASSED]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('resource "a" "b" {\n  x = = 1\n}\n', 2, "unexpected"),
        ('resource "a" "b" {\n  x = 1\n}\n}\n', 4, "unexpected"),
        ('locals {\n  a = "unterminated\n}\n', None, "HCL"),
    ],
)
def test_syntax_errors_name_a_line(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    [problem] = collect(spec(write(tmp_path / "m", {"main.tf": text})))["errors"]
    assert problem["path"] == "main.tf"  # relative to the target folder m
    assert words in problem["message"]
    if line is not None:
        assert problem["line"] == line
    else:
        assert isinstance(problem["line"], int)


def test_undecodable_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_bytes(b'locals {\n  a = "\xff"\n}\n')
    [problem] = collect(spec(tmp_path / "m"))["errors"]
    assert problem["path"] == "main.tf" and "UTF-8" in problem["message"]


def test_missing_or_empty_location_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        collect(spec(tmp_path / "nope"))
    (tmp_path / "file.tf").write_text("locals {}\n")
    with pytest.raises(UsageError, match=r"file\.tf is a file; pass the module's directory") as raised:
        collect(spec(tmp_path / "file.tf"))
    assert str(tmp_path) in str(raised.value)  # the directory to pass instead
    empty = tmp_path / "empty"
    write(empty, {"README.md": "x", ".terraform/m/main.tf": "locals {}\n"})
    with pytest.raises(UsageError, match=r"no \.tf files found") as raised:
        collect(spec(empty))
    assert "\n" not in str(raised.value)


def test_inventory_round_trips_through_json_with_identical_results() -> None:
    inventory = collect(spec(resources.demo_dir() / "terraform", "demo"))
    loaded = json.loads(json.dumps(inventory))
    assert loaded == inventory
    for check_id in TF_CHECKS:
        fn = check_function(check_id)
        before = [f.to_dict() for u in module_units(inventory, INPUTS) for f in evaluate(fn, u, INPUTS)]
        after = [f.to_dict() for u in module_units(loaded, INPUTS) for f in evaluate(fn, u, INPUTS)]
        assert before == after
        assert before  # the demo has something to say for every check


def test_unclosed_brace_ignores_strings_comments_and_heredocs() -> None:
    text = 'a {\n  b = "}"  # }\n  c = <<EOT\n}\nEOT\n  /* }\n */\n  d {\n  }\n'
    assert unclosed_brace_line(text) == 1
    assert unclosed_brace_line("a {\n}\nb {\n  c {\n  }\n") == 3
    assert unclosed_brace_line('a {\n  x = "${var.y}"\n}\n') is None


QUEUE = 'resource "aws_sqs_queue" "q" {\n}\n'
PAY_FINES = {
    "versions.tf": VERSIONS,
    "main.tf": 'resource "aws_s3_bucket" "uploads" {\n  bucket = "uploads"\n}\n'
    'resource "random_password" "token" {\n  length = 16\n}\n',
}


def unit_view(location: Path, unit_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
    """One unit of a run on ``location`` (target name ``modules``): its resources' identities and
    locations, and every TF check's findings on it."""
    units = {u.id: u for u in module_units(collect(spec(location, "modules")), INPUTS)}
    unit = units[unit_id]
    blocks = [(b.identity, b.location) for b in unit.data.resources]
    findings = sorted(
        (check_id, f.resource, f.where, f.status.value)
        for check_id in TF_CHECKS
        for f in evaluate(check_function(check_id), unit, INPUTS)
    )
    return blocks, findings


def test_a_module_is_named_the_same_alone_and_in_a_tree(tmp_path: Path) -> None:
    """Nightly runs a tree, pre-merge one module: same unit id and identities either way, so waivers (globs
    on identities) and run-to-run comparisons (fingerprints of identities) agree. Locations are where the
    file is relative to each run's target folder, so CI annotations point at real files."""
    tree = write(
        tmp_path / "tf",
        {
            **{f"pay-fines/{name}": text for name, text in PAY_FINES.items()},
            "other/main.tf": QUEUE,
            "broken/main.tf": "locals {\n",
        },
    )
    unit_id = "terraform:modules/pay-fines"
    tree_blocks, tree_findings = unit_view(tree, unit_id)
    blocks, findings = unit_view(tree / "pay-fines", unit_id)
    assert blocks == [
        ("pay-fines/aws_s3_bucket.uploads", "main.tf:1"),
        ("pay-fines/random_password.token", "main.tf:4"),
    ]
    assert tree_blocks == [
        ("pay-fines/aws_s3_bucket.uploads", "pay-fines/main.tf:1"),
        ("pay-fines/random_password.token", "pay-fines/main.tf:4"),
    ]
    assert ("TF-S3-001", "pay-fines/aws_s3_bucket.uploads", "main.tf:1", "failed") in findings
    assert [f[1] for f in findings if f[0] == "TF-VER-001"] == ["pay-fines"]  # module-level: the module
    # The same findings either way, each located from its own target folder.
    assert tree_findings == [(c, resource, f"pay-fines/{where}", s) for c, resource, where, s in findings]
    # Input errors name the file relative to the target folder too.
    for location, path in ((tree, "broken/main.tf"), (tree / "broken", "main.tf")):
        assert [e["path"] for e in collect(spec(location))["errors"]] == [path]
        assert (location / path).is_file()


def test_a_tree_with_a_root_module_names_it_after_the_location(tmp_path: Path) -> None:
    root = write(tmp_path / "platform", {"main.tf": QUEUE, "modules/s3/main.tf": QUEUE})
    inventory = collect(spec(root))
    assert [m["path"] for m in inventory["modules"]] == ["platform", "modules/s3"]
    assert [u.id for u in module_units(inventory, INPUTS)] == [
        "terraform:t/platform",
        "terraform:t/modules/s3",
    ]


def test_root_module_is_dot_when_a_sub_module_path_could_collide_with_its_name(tmp_path: Path) -> None:
    # `tf/` holds main.tf and a sub-module `tf/tf`: naming the root `tf` would merge the two.
    same = write(tmp_path / "tf", {"main.tf": QUEUE, "tf/main.tf": QUEUE, "other/main.tf": QUEUE})
    units = module_units(collect(spec(same)), INPUTS)
    assert [u.id for u in units] == ["terraform:t/.", "terraform:t/other", "terraform:t/tf"]
    identities = [q.identity for u in units for q in u.data.resources]
    assert identities == ["aws_sqs_queue.q", "other/aws_sqs_queue.q", "tf/aws_sqs_queue.q"]
    # A sub-module under a directory of the root's name would share its prefix (a waiver on `net/*`).
    under = write(tmp_path / "net", {"main.tf": QUEUE, "net/vpc/main.tf": QUEUE})
    assert [m["path"] for m in collect(spec(under))["modules"]] == [".", "net/vpc"]


def test_root_module_named_after_a_relative_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = write(tmp_path / "pay-fines", {"main.tf": QUEUE})
    monkeypatch.chdir(module)
    [unit] = module_units(collect(spec(Path("."))), INPUTS)
    assert unit.id == "terraform:t/pay-fines"
    [queue] = unit.data.resources
    assert (queue.identity, queue.location) == ("pay-fines/aws_sqs_queue.q", "main.tf:1")
    assert Path(queue.location.rsplit(":", 1)[0]).is_file()  # from the target folder, here the cwd


def test_a_target_that_is_a_module_locates_findings_in_it_and_names_them_after_it(tmp_path: Path) -> None:
    """Pre-merge runs `kitemark run --terraform .` in a module repository: the root module is named after
    its folder (identities keep that prefix) but its files are located in the target folder itself —
    `main.tf:1`, not `pay-fines/main.tf:1`, a file that does not exist (CI annotations pointed at it)."""
    target = write(tmp_path / "pay-fines", PAY_FINES)
    found = {check_id: run_check(check_id, target)["terraform:t/pay-fines"] for check_id in TF_CHECKS}
    for finding in (f for findings in found.values() for f in findings):
        assert isinstance(finding.location, FileLocation), finding
        assert (target / finding.location.path).is_file(), finding
        assert finding.resource.startswith("pay-fines"), finding
    bucket = next(f for f in found["TF-S3-001"] if f.resource == "pay-fines/aws_s3_bucket.uploads")
    assert (bucket.location.path, bucket.location.line, bucket.status) == ("main.tf", 1, Status.FAILED)
    [versions] = found["TF-VER-001"]
    assert (versions.resource, versions.location.path, versions.location.line) == (
        "pay-fines",
        "versions.tf",
        1,
    )

    # A parse error in such a target: the input error and the error findings name main.tf in it.
    write(target, {"main.tf": 'locals {\n  a = 1\n}\n\nresource "aws_s3_bucket" "b" {\n  bucket = "x"\n'})
    [problem] = collect(spec(target))["errors"]
    assert (problem["path"], problem["line"]) == ("main.tf", 5)
    assert (target / problem["path"]).is_file()
    for check_id in TF_CHECKS:
        [finding] = run_check(check_id, target)["terraform:t/pay-fines"]
        assert finding.status is Status.ERROR, finding
        assert isinstance(finding.location, FileLocation), finding
        assert (finding.location.path, finding.location.line) == ("main.tf", 5)
        assert (target / finding.location.path).is_file()
        assert finding.message.startswith("main.tf:5: ")
        assert finding.resource == "terraform:t/pay-fines"  # the unit, named after the module

"""The terraform collector: module discovery, parsing with line numbers, input errors, JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kitemark import resources
from kitemark.catalog import load_checks
from kitemark.checks import check_function, evaluate
from kitemark.errors import UsageError
from kitemark.model import Status
from kitemark.targets import TargetSpec
from kitemark.targets.terraform import collect, module_units, unclosed_brace_line

TF_CHECKS = ("TF-S3-001", "TF-TAG-001", "TF-VER-001")
load_checks()

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


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def spec(root: Path, name: str = "t") -> TargetSpec:
    return TargetSpec("terraform", name, str(root))


def test_parses_blocks_with_their_lines(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": '# a comment\n\nresource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n'})
    inventory = collect(spec(tmp_path))
    [module] = inventory["modules"]
    body = module["files"]["main.tf"]["resource"][0]["aws_sqs_queue"]["jobs"]
    assert (body["__start_line__"], body["__end_line__"], body["name"]) == (3, 5, "jobs")
    [unit] = module_units(inventory)
    [queue] = unit.data.resources
    assert (queue.address, queue.identity) == ("aws_sqs_queue.jobs", "aws_sqs_queue.jobs")
    assert queue.location == "main.tf:3"
    assert {k: inventory[k] for k in ("kind", "target", "name", "errors")} == {
        "kind": "terraform",
        "target": "terraform:t",
        "name": "t",
        "errors": [],
    }


def test_discovers_nested_modules_and_skips_hidden_dirs(tmp_path: Path) -> None:
    write(
        tmp_path,
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
    inventory = collect(spec(tmp_path, "tree"))
    assert [m["path"] for m in inventory["modules"]] == [".", "modules/s3", "modules/s3/nested/deep"]
    assert list(inventory["modules"][1]["files"]) == ["main.tf"]
    units = module_units(inventory)
    assert [u.id for u in units] == [
        "terraform:tree/.",
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
    bad, good = module_units(inventory)
    assert list(bad.data.files) == ["versions.tf"]  # the module's other files still parse
    for check_id in TF_CHECKS:
        findings = evaluate(check_function(check_id), bad)
        assert [f.status for f in findings] == [Status.ERROR]
        assert findings[0].location == "bad/main.tf:5"
        assert "bad/main.tf:5" in findings[0].message
        good_findings = evaluate(check_function(check_id), good)
        assert Status.ERROR not in {f.status for f in good_findings}
    assert [f.status for f in evaluate(check_function("TF-VER-001"), good)] == [Status.PASSED]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('resource "a" "b" {\n  x = = 1\n}\n', 2, "unexpected"),
        ('resource "a" "b" {\n  x = 1\n}\n}\n', 4, "unexpected"),
        ('locals {\n  a = "unterminated\n}\n', None, "HCL"),
    ],
)
def test_syntax_errors_name_a_line(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    write(tmp_path, {"main.tf": text})
    [problem] = collect(spec(tmp_path))["errors"]
    assert problem["path"] == "main.tf"
    assert words in problem["message"]
    if line is not None:
        assert problem["line"] == line
    else:
        assert isinstance(problem["line"], int)


def test_undecodable_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_bytes(b'locals {\n  a = "\xff"\n}\n')
    [problem] = collect(spec(tmp_path))["errors"]
    assert problem["path"] == "main.tf" and "UTF-8" in problem["message"]


def test_missing_or_empty_location_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        collect(spec(tmp_path / "nope"))
    (tmp_path / "file.tf").write_text("locals {}\n")
    with pytest.raises(UsageError, match="not a directory"):
        collect(spec(tmp_path / "file.tf"))
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
        before = [f.to_dict() for u in module_units(inventory) for f in evaluate(fn, u)]
        after = [f.to_dict() for u in module_units(loaded) for f in evaluate(fn, u)]
        assert before == after
        assert before  # the demo has something to say for every check


def test_unclosed_brace_ignores_strings_comments_and_heredocs() -> None:
    text = 'a {\n  b = "}"  # }\n  c = <<EOT\n}\nEOT\n  /* }\n */\n  d {\n  }\n'
    assert unclosed_brace_line(text) == 1
    assert unclosed_brace_line("a {\n}\nb {\n  c {\n  }\n") == 3
    assert unclosed_brace_line('a {\n  x = "${var.y}"\n}\n') is None

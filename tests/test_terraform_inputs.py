"""Inputs of a terraform target that Kitemark does not read are listed, never dropped: JSON syntax
(``*.tf.json``), override files and OpenTofu files; a local module source that names no module is an input
error on its caller; Kitemark's own report folder inside the target is not read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.core.resources import OUTPUT_MARKER, own_output, walk_inputs
from kitemark.targets.terraform.collect import collect, module_units
from kitemark.targets.terraform.files import discover_modules
from kitemark.targets.terraform.kind import KIND
from kitemark.testing import default_inputs, run_check
from kitemark.testing import write_files as write

TF_CHECKS = ("TF-S3-001", "TF-TAG-001", "TF-VER-001")
load_checks()
INPUTS = default_inputs()

BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'
QUEUE = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n'
JSON_BUCKET = '{"resource": {"aws_s3_bucket": {"j": {"bucket": "j"}}}}\n'
JSON_REASON = "Terraform JSON syntax (*.tf.json) is not read yet"


def spec(root: Path, name: str = "t") -> TargetSpec:
    return TargetSpec("terraform", name, str(root))


def call(name: str, source: str) -> str:
    return f'module "{name}" {{\n  source = "{source}"\n}}\n'


def findings_by_check(inventory: dict, unit_id: str) -> dict[str, list[Finding]]:
    [unit] = [u for u in module_units(inventory, INPUTS) if u.id == unit_id]
    return {check_id: evaluate(check_function(check_id), unit, INPUTS) for check_id in TF_CHECKS}


# ------------------------------------------------------------------------------------ JSON syntax


def test_a_module_written_in_json_syntax_is_listed_and_its_checks_error(tmp_path: Path) -> None:
    root = write(
        tmp_path / "jsonmod", {"main.tf.json": JSON_BUCKET, ".hidden.tf.json": "{}", "x.tf.json~": "{"}
    )
    inventory = collect(spec(root))  # a folder of .tf.json files is a module: not refused as "no .tf files"
    entry, hidden = inventory["skipped"]
    assert hidden["path"] == ".hidden.tf.json" and hidden["holds_resources"] is False  # Terraform skips it
    assert entry["path"] == "main.tf.json" and entry["line"] is None
    assert entry["holds_resources"] is True
    assert JSON_REASON in entry["reason"] and "\n" not in entry["reason"]
    assert inventory["errors"] == []  # not bad input: input Kitemark does not read yet
    assert [m["path"] for m in inventory["modules"]] == ["jsonmod"]
    assert KIND.describe(inventory)["skipped"] == 2
    # Its checks cannot be assessed: error naming the file, never a pass, a failure or "not applicable".
    for check_id, findings in findings_by_check(inventory, "terraform:t/jsonmod").items():
        assert [f.status for f in findings] == [Status.ERROR], (check_id, findings)
        assert findings[0].where == "main.tf.json"
        assert JSON_REASON in findings[0].message


def test_json_files_beside_hcl_are_listed_and_the_module_is_not_judged_on_half_of_it(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "main.tf": QUEUE,
            "modules/mixed/main.tf": BUCKET,  # would fail TF-S3-001 if judged alone …
            "modules/mixed/buckets.tf.json": JSON_BUCKET,  # … but this file may hold its encryption
            "modules/mixed/override.tf.json": "{}",
        },
    )
    inventory = collect(spec(root))
    assert [(s["path"], s["holds_resources"]) for s in inventory["skipped"]] == [
        ("modules/mixed/buckets.tf.json", True),
        ("modules/mixed/override.tf.json", True),
    ]
    assert list(inventory["modules"][1]["files"]) == ["main.tf"]
    for check_id, findings in findings_by_check(inventory, "terraform:t/modules/mixed").items():
        assert {f.status for f in findings} == {Status.ERROR}, (check_id, findings)
        assert sorted(f.where for f in findings) == [
            "modules/mixed/buckets.tf.json",
            "modules/mixed/override.tf.json",
        ]
    # The module without JSON files is assessed as usual.
    s3 = findings_by_check(inventory, "terraform:t/infra")["TF-S3-001"]
    assert [f.status for f in s3] == [Status.NOT_APPLICABLE]


def test_discovery_finds_a_folder_holding_only_json_files(tmp_path: Path) -> None:
    root = write(tmp_path, {"a/main.tf": QUEUE, "b/main.tf.json": "{}", "c/README.md": "x"})
    assert [p.relative_to(root).as_posix() for p in discover_modules(walk_inputs(root))] == ["a", "b"]


# ------------------------------------------------------------------------------------ override files


@pytest.mark.parametrize("name", ["override.tf", "dev_override.tf"])
def test_override_files_are_listed_not_read_as_ordinary_files(tmp_path: Path, name: str) -> None:
    # The override would make the bucket's verdict different; read as an ordinary file it would declare
    # the bucket twice. Kitemark does not merge overrides yet: listed, and the module's checks error.
    root = write(
        tmp_path / "m", {"main.tf": BUCKET, name: 'resource "aws_s3_bucket" "b" {\n  bucket = "c"\n}\n'}
    )
    inventory = collect(spec(root))
    [entry] = inventory["skipped"]
    assert (entry["path"], entry["line"], entry["holds_resources"]) == (name, None, True)
    assert "override" in entry["reason"]
    assert list(inventory["modules"][0]["files"]) == ["main.tf"]
    for check_id, findings in findings_by_check(inventory, "terraform:t/m").items():
        assert [(f.status, f.where) for f in findings] == [(Status.ERROR, name)], check_id


def test_a_file_merely_containing_override_in_its_name_is_ordinary(tmp_path: Path) -> None:
    root = write(tmp_path / "m", {"overrides.tf": BUCKET, "no_override_here.tf": QUEUE})
    inventory = collect(spec(root))
    assert inventory["skipped"] == []
    assert sorted(inventory["modules"][0]["files"]) == ["no_override_here.tf", "overrides.tf"]


def test_opentofu_files_are_listed(tmp_path: Path) -> None:
    root = write(tmp_path / "m", {"main.tf": QUEUE, "main.tofu": QUEUE, "extra.tofu.json": "{}"})
    inventory = collect(spec(root))
    assert [(s["path"], s["holds_resources"]) for s in inventory["skipped"]] == [
        ("extra.tofu.json", True),
        ("main.tofu", True),
    ]
    assert all("OpenTofu" in s["reason"] for s in inventory["skipped"])


def test_a_run_without_unread_files_lists_nothing(tmp_path: Path) -> None:
    inventory = collect(spec(write(tmp_path / "m", {"main.tf": QUEUE})))
    assert inventory["skipped"] == []
    assert KIND.describe(inventory)["skipped"] == 0


# ------------------------------------------------------------------------------------ module sources


@pytest.mark.parametrize(
    ("files", "source", "words"),
    [
        ({}, "./modules/gone", "modules/gone does not exist"),
        ({"modules/empty/README.md": "x"}, "./modules/empty", "modules/empty holds no .tf files"),
        ({"modules/file": "x"}, "./modules/file", "modules/file is not a folder"),
    ],
)
def test_a_local_source_naming_no_module_is_an_input_error_on_the_call(
    tmp_path: Path, files: dict[str, str], source: str, words: str
) -> None:
    root = write(
        tmp_path / "infra", {"main.tf": BUCKET + "\n" + call("gone", source), "other/main.tf": QUEUE, **files}
    )
    inventory = collect(spec(root))
    [problem] = inventory["errors"]
    assert (problem["path"], problem["line"]) == ("main.tf", 5)  # the module block
    assert "module.gone" in problem["message"] and source in problem["message"]
    assert words in problem["message"] and "\n" not in problem["message"]
    for check_id in TF_CHECKS:
        [finding] = run_check(check_id, root)["terraform:t/infra"]
        assert finding.status is Status.ERROR, (check_id, finding)
        assert finding.where == "main.tf:5"
        # The other module is assessed as usual.
        assert Status.ERROR not in {f.status for f in run_check(check_id, root)["terraform:t/other"]}


def test_a_local_source_in_a_sub_module_is_resolved_from_its_folder(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "main.tf": call("app", "./modules/app"),
            "modules/app/main.tf": call("ok", "../queue") + call("gone", "./queue"),
            "modules/queue/main.tf": QUEUE,
        },
    )
    [problem] = collect(spec(root))["errors"]
    assert (problem["path"], problem["line"]) == ("modules/app/main.tf", 4)
    assert "module.gone" in problem["message"] and "modules/app/queue does not exist" in problem["message"]


def test_sources_that_resolve_are_not_errors(tmp_path: Path) -> None:
    write(tmp_path, {"elsewhere/main.tf": QUEUE})  # outside the target: exists, assessed on its own
    root = write(
        tmp_path / "infra",
        {
            "main.tf": call("q", "./modules/q")
            + call("j", "./modules/json")
            + call("far", "../elsewhere")
            + call("reg", "terraform-aws-modules/s3-bucket/aws")
            + call("git", "git::https://example.org/m.git?ref=v1"),
            "modules/q/main.tf": QUEUE,
            "modules/json/main.tf.json": "{}",
        },
    )
    inventory = collect(spec(root))
    assert inventory["errors"] == []
    [finding] = run_check("TF-S3-001", root)["terraform:t/infra"]
    assert finding.status is Status.NOT_APPLICABLE
    calls = [c["module"] for c in finding.evidence["module_calls"]]
    assert calls == ["module.far", "module.reg", "module.git"]  # listed as not assessed, unchanged


# ------------------------------------------------------------------------------------ Kitemark's output


def test_a_report_folder_inside_the_target_is_not_read(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "main.tf": QUEUE,
            f"kitemark-reports/{OUTPUT_MARKER}": "",
            "kitemark-reports/inventory/main.tf": BUCKET,  # Kitemark's own names in its own --out
            "kitemark-reports/results.json": "{}",
            "reports-lookalike/main.tf": QUEUE,  # a folder without the marker is read
        },
    )
    own_output(root / "kitemark-reports")  # this run's --out
    inventory = collect(spec(root))
    assert [m["path"] for m in inventory["modules"]] == ["infra", "reports-lookalike"]
    assert inventory["skipped"] == []


def test_a_local_source_into_a_folder_kitemark_does_not_read_is_listed_as_not_assessed(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path / "infra",
        {"main.tf": BUCKET + "\n" + call("h", "./.modules/h"), ".modules/h/main.tf": BUCKET},
    )
    inventory = collect(spec(root))
    assert inventory["errors"] == []
    entry, folder = inventory["skipped"]
    assert entry["path"] == ".modules/h" and entry["holds_resources"]
    assert "module.h" in entry["reason"] and "main.tf:5" in entry["reason"]
    assert folder["path"] == ".modules" and folder["holds_resources"]  # the hidden folder itself


@pytest.mark.parametrize("block", ["module", "resource", "provider", "variable", "locals"])
def test_a_block_type_written_as_an_attribute_is_an_input_error(tmp_path: Path, block: str) -> None:
    root = write(tmp_path / "infra", {"main.tf": f"{block} = 1\n", "other/main.tf": QUEUE})
    [problem] = collect(spec(root))["errors"]
    assert problem["path"] == "main.tf" and f"`{block}` is set as an attribute" in problem["message"]
    [finding] = run_check("TF-S3-001", root)["terraform:t/infra"]
    assert finding.status is Status.ERROR


def test_terraform_reads_a_file_named_with_a_leading_hash_but_not_an_autosave(tmp_path: Path) -> None:
    root = write(tmp_path / "infra", {"#x.tf": QUEUE, "#main.tf#": "garbage {", "main.tf": BUCKET})
    [module] = collect(spec(root))["modules"]
    assert sorted(module["files"]) == ["#x.tf", "main.tf"]

"""A tree of modules assessed from its root: a child called with a local ``source`` inherits its caller's
``provider "aws"`` configuration (its ``default_tags``) as Terraform does, evaluated in the caller's scope."""

from __future__ import annotations

from pathlib import Path

from kitemark.core.model import Finding, Status
from kitemark.testing import MANDATORY_TAGS as MANDATORY
from kitemark.testing import hcl_map, run_check
from kitemark.testing import write_files as write


def provider(tags: str, alias: str | None = None) -> str:
    head = f'  alias = "{alias}"\n' if alias else ""
    return f'provider "aws" {{\n{head}  default_tags {{\n    tags = {tags}\n  }}\n}}\n'


QUEUE = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n'
ALL_TAGS = provider(hcl_map(MANDATORY))


def tags(location: Path) -> dict[str, Finding]:
    """TF-TAG-001's findings on a target (named ``t``), by resource."""
    found = run_check("TF-TAG-001", location)
    return {f.resource: f for findings in found.values() for f in findings}


def call(name: str, source: str, extra: str = "") -> str:
    return f'module "{name}" {{\n  source = "{source}"\n{extra}}}\n'


def test_child_inherits_the_root_default_tags(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "providers.tf": ALL_TAGS,
            "main.tf": call("queue", "./modules/queue"),
            "modules/queue/main.tf": QUEUE,
        },
    )
    finding = tags(root)["modules/queue/aws_sqs_queue.q"]
    assert finding.status is Status.PASSED, finding
    # The root module is named after the target folder; its file is located relative to that folder.
    assert "provider aws default_tags from root module infra (providers.tf:1)" in finding.message
    assert finding.evidence["sources"] == [
        "provider aws default_tags from root module infra (providers.tf:1)"
    ]
    # The same module assessed alone has only its own provider configuration: none.
    alone = tags(root / "modules" / "queue")["queue/aws_sqs_queue.q"]
    assert alone.status is Status.FAILED, alone


def test_inherited_default_tags_are_evaluated_in_the_callers_scope(tmp_path: Path) -> None:
    root_tags = {k: v for k, v in MANDATORY.items() if k != "owner"}
    root = write(
        tmp_path / "infra",
        {
            "variables.tf": 'variable "team" {\n  default = "platforms"\n}\n',
            "providers.tf": "locals {\n  tags = merge("
            + hcl_map(root_tags)
            + ", { owner = var.team })\n}\n"
            + provider("local.tags"),
            "main.tf": call("queue", "./modules/queue"),
            # The child has a variable and a local of the same names, which must not be used.
            "modules/queue/main.tf": QUEUE
            + 'variable "team" {\n  default = ""\n}\nlocals {\n  tags = {}\n}\n',
        },
    )
    finding = tags(root)["modules/queue/aws_sqs_queue.q"]
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["values"]["owner"] == "platforms"
    assert finding.evidence["depends_on_defaults"] == ['var.team = "platforms" (variables.tf:1)']


def test_inheritance_follows_chains_of_calls(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "providers.tf": ALL_TAGS,
            "main.tf": call("a", "./a"),
            "a/main.tf": call("b", "../b"),  # resolved relative to the caller's folder
            "b/main.tf": QUEUE,
        },
    )
    finding = tags(root)["b/aws_sqs_queue.q"]
    assert finding.status is Status.PASSED, finding
    assert "from root module infra (providers.tf:1)" in finding.message


def test_providers_map_passes_an_aliased_configuration(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "providers.tf": provider('{ owner = "nobody" }') + provider(hcl_map(MANDATORY), alias="tagged"),
            "main.tf": call("good", "./good", "  providers = {\n    aws = aws.tagged\n  }\n")
            + call("bad", "./bad"),
            "good/main.tf": QUEUE,
            "bad/main.tf": QUEUE,
        },
    )
    found = tags(root)
    good, bad = found["good/aws_sqs_queue.q"], found["bad/aws_sqs_queue.q"]
    assert good.status is Status.PASSED, good
    assert "provider aws.tagged default_tags from root module infra" in good.message
    assert bad.status is Status.FAILED, bad
    assert bad.evidence["present"] == ["owner"]


def test_aliased_configurations_are_not_inherited_implicitly(tmp_path: Path) -> None:
    child = 'resource "aws_sqs_queue" "q" {\n  provider = aws.tagged\n}\n'
    root = write(
        tmp_path / "infra",
        {
            "providers.tf": provider(hcl_map(MANDATORY), alias="tagged"),
            "main.tf": call("implicit", "./implicit")
            + call("explicit", "./explicit", "  providers = {\n    aws.tagged = aws.tagged\n  }\n"),
            "implicit/main.tf": child,
            "explicit/main.tf": child,
        },
    )
    found = tags(root)
    assert found["implicit/aws_sqs_queue.q"].status is Status.FAILED
    assert found["explicit/aws_sqs_queue.q"].status is Status.PASSED


def test_a_providers_map_cancels_implicit_inheritance(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "providers.tf": ALL_TAGS + provider("{}", alias="other"),
            "main.tf": call("q", "./q", "  providers = {\n    aws.other = aws.other\n  }\n"),
            "q/main.tf": QUEUE,
        },
    )
    assert tags(root)["q/aws_sqs_queue.q"].status is Status.FAILED


def test_a_childs_own_provider_block_wins(tmp_path: Path) -> None:
    root = write(
        tmp_path / "infra",
        {
            "providers.tf": ALL_TAGS,
            "main.tf": call("q", "./q"),
            "q/main.tf": QUEUE + provider('{ owner = "team" }'),
        },
    )
    finding = tags(root)["q/aws_sqs_queue.q"]
    assert finding.status is Status.FAILED, finding
    assert finding.evidence["present"] == ["owner"]
    assert "from root module" not in finding.message


def test_a_module_called_from_several_places_must_pass_under_every_caller(tmp_path: Path) -> None:
    root = write(
        tmp_path / "envs",
        {
            "prod/main.tf": ALL_TAGS + call("q", "../modules/q"),
            "dev/main.tf": provider('{ owner = "team" }') + call("q", "../modules/q"),
            "modules/q/main.tf": QUEUE,
        },
    )
    finding = tags(root)["modules/q/aws_sqs_queue.q"]
    assert finding.status is Status.FAILED, finding
    assert "dev (dev/main.tf:1)" in finding.message and "root module prod" not in finding.message
    assert {c["default_tags"] for c in finding.evidence["callers"]} == {
        "provider aws default_tags from root module dev (dev/main.tf:1)",
        "provider aws default_tags from root module prod (prod/main.tf:1)",
    }
    # With both callers tagging fully, it passes, naming both.
    write(root, {"dev/main.tf": ALL_TAGS + call("q", "../modules/q")})
    passing = tags(root)["modules/q/aws_sqs_queue.q"]
    assert passing.status is Status.PASSED, passing
    assert "root module dev" in passing.message and "root module prod" in passing.message


def test_a_caller_without_provider_configuration_gives_none(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "main.tf": call("q", "./modules/q"),
            "modules/q/main.tf": QUEUE,
        },
    )
    finding = tags(root)["modules/q/aws_sqs_queue.q"]
    assert finding.status is Status.FAILED, finding
    assert finding.evidence["sources"] == ["none: no tags argument and no provider default_tags"]


def test_module_calls_in_the_target_are_not_reported_as_unassessed(tmp_path: Path) -> None:
    write(tmp_path, {"elsewhere/main.tf": QUEUE})  # outside the target: assessed on its own
    root = write(
        tmp_path / "infra",
        {
            "main.tf": call("q", "./modules/q") + call("far", "../elsewhere"),
            "modules/q/main.tf": QUEUE,
        },
    )
    [finding] = run_check("TF-TAG-001", root)["terraform:t/infra"]
    assert finding.status is Status.NOT_APPLICABLE
    assert "module.far, source ../elsewhere" in finding.message
    assert "module.q" not in finding.message


def test_callers_with_the_same_gap_are_named_once_and_a_root_without_configuration_says_so(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path / "repo",
        {
            "examples/a/main.tf": 'provider "aws" {\n  region = "eu-west-2"\n}\n'
            + call("q", "../../modules/q"),
            "wrappers/main.tf": call("q", "../modules/q"),
            "modules/q/main.tf": QUEUE,
        },
    )
    finding = tags(root)["modules/q/aws_sqs_queue.q"]
    assert finding.status is Status.FAILED, finding
    assert finding.message.count("missing business-unit") == 1
    assert "provider aws from root module examples/a (examples/a/main.tf:1) without default_tags" in (
        finding.message
    )
    assert "no provider aws configuration in root module wrappers" in finding.message


def test_a_configuration_the_call_does_not_pass_is_said(tmp_path: Path) -> None:
    child = 'resource "aws_sqs_queue" "q" {\n  provider = aws.tagged\n}\n'
    root = write(
        tmp_path / "infra", {"providers.tf": ALL_TAGS, "main.tf": call("q", "./q"), "q/main.tf": child}
    )
    finding = tags(root)["q/aws_sqs_queue.q"]
    assert finding.status is Status.FAILED, finding
    assert "provider aws.tagged is not passed by module.q in infra (main.tf:1)" in finding.message


def test_a_default_a_caller_overrides_is_said(tmp_path: Path) -> None:
    """Arguments a caller passes are not evaluated yet: a verdict resting on a default that a caller in the
    target overrides says so."""
    child = (
        f'variable "tags" {{\n  default = {hcl_map(MANDATORY)}\n}}\n'
        'resource "aws_sqs_queue" "q" {\n  tags = var.tags\n}\n'
    )
    root = write(
        tmp_path / "infra",
        {"main.tf": call("q", "./q", '  tags = { owner = "x" }\n'), "q/main.tf": child},
    )
    finding = tags(root)["q/aws_sqs_queue.q"]
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["depends_on_defaults"][0].startswith("var.tags = ")
    assert finding.evidence["callers_override"] == {"var.tags": ["module.q in infra (main.tf:1)"]}
    assert "module.q in infra passes its own var.tags" in finding.message

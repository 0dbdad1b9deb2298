"""Secret values in Terraform never reach the inventory (kept as audit evidence) or any other output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Status
from kitemark.core.redaction import MARKER, is_marker, marker
from kitemark.targets.terraform.collect import collect, module_units
from kitemark.targets.terraform.redaction import is_credential_name, mask_template
from kitemark.testing import default_inputs

load_checks()
INPUTS = default_inputs()

TAGS = """{
    business-unit          = "HQ"
    application            = "app"
    is-production          = "false"
    owner                  = "team"
    namespace              = "ns"
    environment-name       = "dev"
    infrastructure-support = "team@example.org"
  }"""

MAIN = f"""
provider "aws" {{
  region     = "eu-west-2"
  secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  access_key = "AKIAIOSFODNN7EXAMPLE"
}}

variable "db_password" {{
  type      = string
  sensitive = true
  default   = "hunter2hunter2"
}}

variable "replica_credentials" {{
  sensitive = true
  default   = {{ user = "replicator", pin = 918273 }}
}}

locals {{
  tags = {TAGS}
  app_env = {{ DB_PASSWORD = "env-literal-pw", LOG_LEVEL = "debug" }}
}}

resource "random_password" "db" {{
  length = 32
}}

resource "aws_db_instance" "x" {{
  identifier = "x"
  password   = "s3cr3t-literal"
  tags       = local.tags
}}

resource "aws_db_instance" "y" {{
  identifier                  = "y"
  password                    = random_password.db.result
  manage_master_user_password = true
  tags                        = local.tags
}}

resource "aws_rds_cluster" "c" {{
  master_password = "${{var.db_password}}"
  tags            = merge(local.tags, {{ Name = "c" }})
}}

resource "aws_elasticache_replication_group" "r" {{
  auth_token = coalesce(var.db_password, "fallback-token-literal")
  tags       = local.tags
}}

resource "aws_ssm_parameter" "p" {{
  name  = "/app/api-key"
  type  = "SecureString"
  value = "ssm-secure-literal"
  tags  = local.tags
}}

resource "aws_ssm_parameter" "plain" {{
  name  = "/app/region"
  type  = "String"
  value = "eu-west-2"
  tags  = local.tags
}}

resource "aws_secretsmanager_secret_version" "v" {{
  secret_id     = "arn:aws:secretsmanager:eu-west-2:000000000000:secret:app"
  secret_string = jsonencode({{ username = "app", password = "json-literal-pw" }})
}}

resource "aws_ecs_task_definition" "t" {{
  family                = "t"
  container_definitions = <<EOT
[{{"name": "app", "environment": [{{"name": "API_TOKEN", "value": "heredoc-token-literal"}}]}}]
EOT
  tags                  = local.tags
}}

resource "aws_elastic_beanstalk_environment" "e" {{
  name = "e"
  setting {{
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DATABASE_URL"
    value     = "postgres://app:url-literal-pw@db.internal:5432/app"
  }}
  setting {{
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DB_PASSWORD"
    value     = "setting-literal-pw"
  }}
  tags = local.tags
}}

module "db" {{
  source         = "terraform-aws-modules/rds/aws"
  admin_password = "module-arg-literal"
}}

resource "aws_sqs_queue" "untagged" {{
  name = "q"
}}

output "db_password" {{
  value     = "output-literal-pw"
  sensitive = true
}}
"""

SECRETS = (
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAIOSFODNN7EXAMPLE",
    "hunter2hunter2",
    "replicator",
    "918273",
    "env-literal-pw",
    "s3cr3t-literal",
    "fallback-token-literal",
    "ssm-secure-literal",
    "json-literal-pw",
    "heredoc-token-literal",
    "url-literal-pw",
    "setting-literal-pw",
    "module-arg-literal",
    "output-literal-pw",
)


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tf"
    root.mkdir()
    (root / "main.tf").write_text(MAIN)
    return root


def body(inventory: dict, kind: str, *labels: str) -> dict:
    [module] = inventory["modules"]
    for entry in module["files"]["main.tf"][kind]:
        node = entry
        for label in labels:
            node = node.get(label) if isinstance(node, dict) else None
        if node is not None:
            return node
    raise KeyError(labels)


def test_no_literal_secret_reaches_the_inventory(module_dir: Path) -> None:
    inventory = collect(TargetSpec("terraform", "t", str(module_dir)))
    assert inventory["errors"] == []
    text = json.dumps(inventory)
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, leaked
    assert body(inventory, "provider", "aws") | {"region": "eu-west-2"} == body(inventory, "provider", "aws")
    # A marker keeps a keyed digest of the value: equal values share one, different ones do not.
    assert body(inventory, "provider", "aws")["secret_key"] == marker(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    assert body(inventory, "variable", "db_password")["default"] == marker("hunter2hunter2")
    replica = body(inventory, "variable", "replica_credentials")
    assert replica["default"] == {"user": marker("replicator"), "pin": marker(918273)}
    assert body(inventory, "resource", "aws_db_instance", "x")["password"] == marker("s3cr3t-literal")
    # References are not secrets, and the checks (and a reader) may need them.
    y = body(inventory, "resource", "aws_db_instance", "y")
    assert y["password"] == "${random_password.db.result}"
    assert y["manage_master_user_password"] is True
    assert body(inventory, "resource", "aws_rds_cluster", "c")["master_password"] == "${var.db_password}"
    assert body(inventory, "resource", "aws_elasticache_replication_group", "r")["auth_token"] == (
        f'${{coalesce(var.db_password, "{marker("fallback-token-literal")}")}}'
    )
    plain = body(inventory, "resource", "aws_ssm_parameter", "plain")
    assert plain["value"] == "eu-west-2"  # a String parameter is not a secret
    assert body(inventory, "locals")["app_env"] == {
        "DB_PASSWORD": marker("env-literal-pw"),
        "LOG_LEVEL": "debug",
    }
    secret_version = body(inventory, "resource", "aws_secretsmanager_secret_version", "v")
    assert secret_version["secret_id"].startswith("arn:aws:secretsmanager:")  # names the secret, holds none
    settings = body(inventory, "resource", "aws_elastic_beanstalk_environment", "e")["setting"]
    assert settings[0]["value"] == f"postgres://app:{marker('url-literal-pw')}@db.internal:5432/app"
    assert settings[1] == {**settings[1], "name": "DB_PASSWORD", "value": marker("setting-literal-pw")}
    assert "__start_line__" in settings[1], "line numbers survive redaction"


def test_checks_still_work_on_a_redacted_module(module_dir: Path) -> None:
    [unit] = module_units(
        json.loads(json.dumps(collect(TargetSpec("terraform", "t", str(module_dir))))), INPUTS
    )
    findings = {f.resource: f for f in evaluate(check_function("TF-TAG-001"), unit, INPUTS)}
    assert findings["tf/aws_db_instance.x"].status is Status.PASSED
    assert findings["tf/aws_rds_cluster.c"].status is Status.PASSED
    assert findings["tf/aws_elastic_beanstalk_environment.e"].status is Status.PASSED
    assert findings["tf/aws_sqs_queue.untagged"].status is Status.FAILED
    assert "tf/aws_secretsmanager_secret_version.v" not in findings  # takes no tags
    evidence = json.dumps([f.to_dict() for f in findings.values()])
    assert not [s for s in SECRETS if s in evidence]
    # The evaluator still reads variables: a sensitive default resolves to the marker, not the secret.
    assert is_marker(unit.data.evaluator.value("${var.db_password}"))


def test_no_secret_reaches_any_output_of_a_run(module_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = ["run", "--out", str(out), "-n", "0", "--terraform", str(module_dir)]
    proc = subprocess.run(
        [sys.executable, "-m", "kitemark", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    inventories = list((out / "inventory").glob("terraform-*.json"))
    assert inventories, sorted(p.name for p in out.rglob("*"))
    outputs = [proc.stdout, proc.stderr] + [p.read_text() for p in out.rglob("*") if p.is_file()]
    leaked = {s for s in SECRETS for text in outputs if s in text}
    assert not leaked, leaked


@pytest.mark.parametrize(
    "name",
    ["password", "master_password", "MASTER_PASSWORD", "auth_token", "api-key", "apiKey", "dbPassword",
     "client_secret", "secret_key", "access_key", "private_key", "password_wo", "secret_string", "token"],
)  # fmt: skip
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    ["kms_key_id", "secret_id", "secret_arn", "key", "password_reset_required", "token_validity_units",
     "description", "name", "value", "bucket", "kms_master_key_id", "public_key"],
)  # fmt: skip
def test_names_that_are_not_credentials(name: str) -> None:
    assert not is_credential_name(name)


R = "<redacted>"  # in the expectations below, any marker


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("hunter2", R),
        ("", ""),
        ("${var.db_password}", "${var.db_password}"),
        ("${random_password.x.result}", "${random_password.x.result}"),
        ("${var.a}${var.b}", "${var.a}${var.b}"),
        ("pre-${var.p}", R + "${var.p}"),
        ('${coalesce(var.p, "lit")}', '${coalesce(var.p, "<redacted>")}'),
        ('${data.aws_ssm_parameter.p["db"].value}', '${data.aws_ssm_parameter.p["db"].value}'),
        ('${var.on ? "x-${var.b}" : "y"}', '${var.on ? "<redacted>${var.b}" : "<redacted>"}'),
        ("%{if var.x}lit%{endif}", R),
        ('${f("unterminated', R),
    ],
)
def test_mask_template_keeps_references_and_replaces_literals(text: str, masked: str) -> None:
    assert MARKER.sub(R, mask_template(text)) == masked

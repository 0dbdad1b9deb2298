"""Secrets are redacted by policy (``kitemark.core.redaction``), wherever they are planted.

Each source gets a unique canary. A real ``kitemark run`` (a subprocess, with ``--out``) reads them,
and every output is searched for the canary: inventory/*.json, results.json, junit.xml,
compliance.html, and the terminal's stdout and stderr. The canary must be absent and the marker must
stand where the value was (``<redacted hmac:…>``: the marker of that exact value, so a reviewer can tell
two values apart). Runs use a fixed ``KITEMARK_REDACTION_KEY`` so the test can compute the markers.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kitemark.core import redaction
from kitemark.core.redaction import is_credential_name, redact_text, redact_url
from kitemark.targets.cluster.redaction import redact_document
from kitemark.targets.policies.gatekeeper_yaml import without_secret_values

KEY = "hostile-redaction-test-key"


def marker(value: object) -> str:
    """The marker a run under ``KEY`` writes for ``value``."""
    saved = redaction._key
    redaction._key = KEY.encode()
    try:
        return redaction.marker(value)
    finally:
        redaction._key = saved


def kitemark(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KITEMARK_REDACTION_KEY": KEY, **(env or {})},
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


class Run:
    """One ``kitemark run``: its outputs, and its saved inventory."""

    def __init__(self, proc: subprocess.CompletedProcess[str], out: Path) -> None:
        assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
        self.outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
        for path in sorted(out.rglob("*")):
            if path.is_file():
                self.outputs[path.relative_to(out).as_posix()] = path.read_text(errors="replace")
        names = set(self.outputs)
        assert {"results.json", "junit.xml", "compliance.html"} <= names, names
        [self.inventory_name] = [n for n in names if n.startswith("inventory/") and n.endswith(".json")]
        self.inventory = json.loads(self.outputs[self.inventory_name])

    def assert_redacted(self, canary: str, value: str) -> None:
        """``canary`` reaches no output, and the marker of ``value`` (the planted value that holds
        it) stands in the inventory."""
        leaked = [name for name, text in self.outputs.items() if canary in text]
        assert not leaked, f"{canary} leaked into {leaked}"
        assert marker(value) in self.outputs[self.inventory_name], f"no marker for {value!r}"


# --- cluster snapshot --------------------------------------------------------------------------------

LAST_APPLIED = '{"apiVersion":"v1","kind":"Secret","data":{"k":"CANARY-LAST-APPLIED"}}'
PEM_BODY = "MIIEpAIBAAKCAQEA CANARY-PEM-BODY"
CLUSTER = {
    "team-a/ns.yaml": """
        apiVersion: v1
        kind: Namespace
        metadata: {name: team-a, labels: {auth: oidc}}
    """,
    "team-a/deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: team-a
          annotations:
            example.com/config: "retries=3 token=CANARY-ANNOTATION"
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: app
                  image: registry.example/app:1.0
                  args: ["--password=CANARY-ARG-EQUALS", "--token", "CANARY-ARG-SPACE", "--verbose"]
                  env:
                    - {name: DB_PASSWORD, value: CANARY-ENV-DB-PASSWORD}
                    - {name: API_TOKEN, value: CANARY-ENV-API-TOKEN}
                    - {name: EMPTY_PASSWORD, value: ""}
                    - {name: LOG_LEVEL, value: debug}
                    - {name: DB_CONNECTION, value: "Server=db;User Id=app;Password=CANARY-CONN-STRING;"}
                    - {name: DATABASE_URL, value: "postgres://app:CANARY-URL-PASSWORD@db:5432/app"}
    """,
    "team-a/config.yaml": f"""
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: settings, namespace: team-a}}
        data:
          DB_PASSWORD: CANARY-CONFIGMAP-KEY
          application.properties: |
            spring.datasource.url=jdbc:postgresql://db/app
            spring.datasource.password=CANARY-CONFIGMAP-TEXT
          tls.key: |
            -----BEGIN RSA PRIVATE KEY-----
            {PEM_BODY}
            -----END RSA PRIVATE KEY-----
          aws: "aws_access_key_id = AKIACANARY0AWSKEY0ID"
          colour: blue
    """,
    "team-a/worker.yaml": """
        apiVersion: v1
        kind: Pod
        metadata: {name: worker, namespace: team-a}
        spec:
          automountServiceAccountToken: false
          initContainers:
            - {name: a, image: "example.com/auth:latest"}
            - {name: b, image: "ghcr.io/org/secret:latest"}
          containers:
            - name: c
              image: myrepo/token:1.2.3
              command:
                - sh
                - -c
                - PGPASSWORD=CANARY-PG-INLINE psql -h db && mysql -u root -pCANARY-MYSQL-P db
              env:
                - {name: PGPASSWORD, value: CANARY-ENV-PGPASSWORD}
                - {name: RABBITMQ_DEFAULT_PASS, value: CANARY-ENV-RABBITMQ}
                - {name: SECRET_KEY_BASE, value: CANARY-ENV-KEY-BASE}
                - {name: DB_PASSWORD_FILE, value: /run/secrets/db}
                - name: FROM_SECRET
                  valueFrom: {secretKeyRef: {name: db-credentials, key: password}}
          volumes:
            - {name: s, secret: {secretName: db-credentials}}
    """,
    "team-a/more-config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: more, namespace: team-a}
        data:
          .dockerconfigjson: CANARY-CM-DOCKERCONFIG
          htpasswd: "admin:CANARY-CM-HTPASSWD"
          notes: |
            password: correct horse CANARY-CM-PHRASE
            retries: 3
          existingSecret: db-credentials
    """,
    "team-a/secret.yaml": f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: db
          namespace: team-a
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: '{LAST_APPLIED}'
        type: Opaque
        data: {{username: Q0FOQVJZLURBVEE=, empty: ""}}
        stringData: {{anything: CANARY-STRING-DATA}}
        binaryData: {{blob: CANARY-BINARY-DATA}}
    """,
}

# source -> (canary, the planted value whose marker must stand in the inventory)
CLUSTER_SOURCES = {
    "env value named DB_PASSWORD": ("CANARY-ENV-DB-PASSWORD", "CANARY-ENV-DB-PASSWORD"),
    "env value named API_TOKEN": ("CANARY-ENV-API-TOKEN", "CANARY-ENV-API-TOKEN"),
    "env connection string": ("CANARY-CONN-STRING", "CANARY-CONN-STRING"),
    "env URL password": ("CANARY-URL-PASSWORD", "CANARY-URL-PASSWORD"),
    "--password= argument": ("CANARY-ARG-EQUALS", "CANARY-ARG-EQUALS"),
    "--token argument and value": ("CANARY-ARG-SPACE", "CANARY-ARG-SPACE"),
    "annotation": ("CANARY-ANNOTATION", "CANARY-ANNOTATION"),
    "ConfigMap credential key": ("CANARY-CONFIGMAP-KEY", "CANARY-CONFIGMAP-KEY"),
    "ConfigMap properties text": ("CANARY-CONFIGMAP-TEXT", "CANARY-CONFIGMAP-TEXT"),
    "ConfigMap private key": ("CANARY-PEM-BODY", f"\n{PEM_BODY}\n"),
    "ConfigMap AWS access key id": ("AKIACANARY0AWSKEY0ID", "AKIACANARY0AWSKEY0ID"),
    "Secret data": ("Q0FOQVJZLURBVEE=", "Q0FOQVJZLURBVEE="),
    "Secret stringData": ("CANARY-STRING-DATA", "CANARY-STRING-DATA"),
    "Secret binaryData": ("CANARY-BINARY-DATA", "CANARY-BINARY-DATA"),
    "env value named PGPASSWORD": ("CANARY-ENV-PGPASSWORD", "CANARY-ENV-PGPASSWORD"),
    "env value named RABBITMQ_DEFAULT_PASS": ("CANARY-ENV-RABBITMQ", "CANARY-ENV-RABBITMQ"),
    "env value named SECRET_KEY_BASE": ("CANARY-ENV-KEY-BASE", "CANARY-ENV-KEY-BASE"),
    "PGPASSWORD= in a command": ("CANARY-PG-INLINE", "CANARY-PG-INLINE"),
    "mysql -p in a command": ("CANARY-MYSQL-P", "CANARY-MYSQL-P"),
    "ConfigMap .dockerconfigjson": ("CANARY-CM-DOCKERCONFIG", "CANARY-CM-DOCKERCONFIG"),
    "ConfigMap htpasswd": ("CANARY-CM-HTPASSWD", "admin:CANARY-CM-HTPASSWD"),
    "ConfigMap password: words": ("CANARY-CM-PHRASE", "correct horse CANARY-CM-PHRASE"),
}


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = write(tmp_path_factory.mktemp("snapshot"), CLUSTER)
    out = tmp_path_factory.mktemp("cluster-out")
    return Run(kitemark("run", "--cluster", f"snap=snapshot:{root}", "--out", str(out), "-n", "0"), out)


@pytest.mark.parametrize("source", sorted(CLUSTER_SOURCES))
def test_cluster_source_is_redacted_everywhere(cluster_run: Run, source: str) -> None:
    canary, value = CLUSTER_SOURCES[source]
    cluster_run.assert_redacted(canary, value)


def test_cluster_redaction_keeps_what_checks_read(cluster_run: Run) -> None:
    by_name = {o["metadata"]["name"]: o for o in cluster_run.inventory["objects"]}
    [container] = by_name["web"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["EMPTY_PASSWORD"] == "" and env["LOG_LEVEL"] == "debug"  # empty stays empty, the rest intact
    assert env["DB_PASSWORD"] == marker("CANARY-ENV-DB-PASSWORD")
    assert container["args"] == [
        f"--password={marker('CANARY-ARG-EQUALS')}",
        "--token",
        marker("CANARY-ARG-SPACE"),
        "--verbose",
    ]
    assert container["image"] == "registry.example/app:1.0"
    config = by_name["settings"]["data"]
    assert config["colour"] == "blue"
    assert "spring.datasource.url=jdbc:postgresql://db/app" in config["application.properties"]
    assert by_name["team-a"]["metadata"]["labels"] == {"auth": "oidc"}  # labels hold no secrets
    secret = by_name["db"]
    assert secret["data"] == {"username": marker("Q0FOQVJZLURBVEE="), "empty": ""}  # keys kept
    assert secret["type"] == "Opaque"
    assert "annotations" not in secret["metadata"]  # last-applied: a full copy of the Secret
    assert "CANARY-LAST-APPLIED" not in "".join(cluster_run.outputs.values())


def test_cluster_redaction_keeps_images_references_and_switches(cluster_run: Run) -> None:
    by_name = {o["metadata"]["name"]: o for o in cluster_run.inventory["objects"]}
    pod = by_name["worker"]["spec"]
    # An image-tag check ("no :latest") must see the tag: an image is never read as `key:value`.
    images = [c["image"] for c in pod["initContainers"] + pod["containers"]]
    assert images == ["example.com/auth:latest", "ghcr.io/org/secret:latest", "myrepo/token:1.2.3"]
    assert pod["automountServiceAccountToken"] is False  # a switch named like a token stays a boolean
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["DB_PASSWORD_FILE"]["value"] == "/run/secrets/db"  # where a secret is, not the secret
    assert env["FROM_SECRET"]["valueFrom"] == {"secretKeyRef": {"name": "db-credentials", "key": "password"}}
    assert pod["volumes"] == [{"name": "s", "secret": {"secretName": "db-credentials"}}]
    [command] = [c for c in pod["containers"][0]["command"] if "psql" in c]
    assert command.startswith("PGPASSWORD=<redacted hmac:") and " psql -h db && mysql -u root -p<" in command
    config = by_name["more"]["data"]
    assert config["existingSecret"] == "db-credentials"
    assert config["notes"] == f"password: {marker('correct horse CANARY-CM-PHRASE')}\nretries: 3\n"


# --- Terraform ---------------------------------------------------------------------------------------

TERRAFORM = {
    "main.tf": """
        variable "db_password" {
          type    = string
          default = "CANARY-TF-VARIABLE"
        }

        resource "aws_instance" "web" {
          ami           = "ami-123"
          instance_type = "t3.micro"
          user_data     = <<-EOT
            #!/bin/bash
            export DB_PASSWORD=CANARY-TF-USER-DATA
            export APP_TOKEN="${var.db_password}"
            echo ready
          EOT
        }

        resource "kubernetes_secret" "app" {
          metadata {
            name = "app"
          }
          data = {
            username = "CANARY-TF-K8S-SECRET"
            empty    = ""
            login    = var.login
          }
        }

        resource "aws_db_instance" "db" {
          identifier = "db"
          password   = local.master
        }

        resource "aws_ssm_parameter" "conn" {
          name  = "/app/conn"
          type  = "String"
          value = "Server=db;Database=app;Password=CANARY-TF-CONN-STRING;"
        }

        resource "aws_ecs_task_definition" "t" {
          family                = "t"
          container_definitions = jsonencode([{ name = "app", command = ["--password=CANARY-TF-ARG"] }])
        }
    """,
    # Declared in another file, named like nothing secret: read where a secret is written.
    "inputs.tf": """
        variable "login" {
          default = "CANARY-TF-FED-VARIABLE"
        }

        locals {
          master = "${var.prefix}CANARY-TF-FED-LOCAL"
        }

        variable "prefix" {
          default = "CANARY-TF-FED-TWICE"
        }
    """,
}
TERRAFORM_SOURCES = {
    "variable default under a credential name": "CANARY-TF-VARIABLE",
    "user_data export": "CANARY-TF-USER-DATA",
    "kubernetes_secret data": "CANARY-TF-K8S-SECRET",
    "connection string": "CANARY-TF-CONN-STRING",
    "--password= in a command": "CANARY-TF-ARG",
    "variable feeding a kubernetes_secret": "CANARY-TF-FED-VARIABLE",
    "local feeding a password": "CANARY-TF-FED-LOCAL",
    "variable feeding that local": "CANARY-TF-FED-TWICE",
}


@pytest.fixture(scope="module")
def terraform_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = write(tmp_path_factory.mktemp("tf"), TERRAFORM)
    out = tmp_path_factory.mktemp("tf-out")
    return Run(kitemark("run", "--terraform", str(root), "--out", str(out), "-n", "0"), out)


@pytest.mark.parametrize("source", sorted(TERRAFORM_SOURCES))
def test_terraform_source_is_redacted_everywhere(terraform_run: Run, source: str) -> None:
    canary = TERRAFORM_SOURCES[source]
    terraform_run.assert_redacted(canary, canary)


def test_terraform_redaction_keeps_references_and_empty_values(terraform_run: Run) -> None:
    text = terraform_run.outputs[terraform_run.inventory_name]
    assert 'export APP_TOKEN=\\"${var.db_password}\\"' in text  # a reference is not a secret
    assert "echo ready" in text
    [module] = terraform_run.inventory["modules"]
    [secret] = [
        r["kubernetes_secret"]["app"]
        for r in module["files"]["main.tf"]["resource"]
        if "kubernetes_secret" in r
    ]
    assert secret["data"]["empty"] == ""


# --- Gatekeeper suites -------------------------------------------------------------------------------

# A hostile policy: its violation message quotes the Secret's data.
QUOTING_TEMPLATE = """
    apiVersion: templates.gatekeeper.sh/v1
    kind: ConstraintTemplate
    metadata: {name: k8squote}
    spec:
      crd:
        spec:
          names: {kind: K8sQuote}
      targets:
        - target: admission.k8s.gatekeeper.sh
          rego: |
            package k8squote

            violation[{"msg": msg}] {
              msg := sprintf("data=%v inventory=%v", [input.review.object.data, data.inventory])
            }
"""
GATEKEEPER = {
    "template.yaml": QUOTING_TEMPLATE,
    "constraint.yaml": """
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: K8sQuote
        metadata: {name: c}
        spec: {match: {}}
    """,
    "secret.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: team-a}
        data: {password: CANARY-GATOR-DATA, empty: ""}
        stringData: {token: CANARY-GATOR-STRING}
    """,
    "pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
          namespace: team-a
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: >-
              {"kind":"Pod","spec":{"containers":[{"env":[{"name":"DB_PASSWORD","value":"CANARY-GATOR-APPLIED"}]}]}}
        spec:
          containers:
            - name: app
              image: ghcr.io/org/secret:latest
              args: ["--password=CANARY-GATOR-ARG", "--verbose"]
              env:
                - {name: DB_PASSWORD, value: CANARY-GATOR-ENV}
                - {name: LOG_LEVEL, value: debug}
    """,
    "inventory.yaml": """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Secret
            metadata: {name: other, namespace: team-a}
            data: {key: CANARY-GATOR-INVENTORY}
    """,
    "suite.yaml": """
        kind: Suite
        apiVersion: test.gatekeeper.sh/v1alpha1
        metadata: {name: s}
        tests:
          - name: quote
            template: template.yaml
            constraint: constraint.yaml
            cases:
              - name: wrong
                object: secret.yaml
                inventory: [inventory.yaml]
                assertions: [{violations: 0}]
              - name: pod
                object: pod.yaml
                assertions: [{violations: 0}]
    """,
}
GATEKEEPER_SOURCES = {
    "Secret data": "CANARY-GATOR-DATA",
    "Secret stringData": "CANARY-GATOR-STRING",
    "Secret in a case inventory": "CANARY-GATOR-INVENTORY",
    "Pod env value named DB_PASSWORD": "CANARY-GATOR-ENV",
    "Pod --password= argument": "CANARY-GATOR-ARG",
    "Pod last-applied annotation": "CANARY-GATOR-APPLIED",
}


@pytest.fixture(scope="module")
def gatekeeper_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = write(tmp_path_factory.mktemp("policies"), GATEKEEPER)
    out = tmp_path_factory.mktemp("policies-out")
    return Run(kitemark("run", "--policies", str(root), "--out", str(out), "-n", "0"), out)


@pytest.mark.parametrize("source", sorted(GATEKEEPER_SOURCES))
def test_gatekeeper_suite_secret_is_redacted_everywhere(gatekeeper_run: Run, source: str) -> None:
    canary = GATEKEEPER_SOURCES[source]
    if source == "Pod last-applied annotation":  # dropped whole, as in the cluster collector
        assert not [name for name, text in gatekeeper_run.outputs.items() if canary in text]
        return
    gatekeeper_run.assert_redacted(canary, canary)


def test_gatekeeper_messages_on_secrets_are_not_kept(gatekeeper_run: Run) -> None:
    # The case fails (the policy always violates, quoting the Secret): decided on the values as
    # written, its messages are not kept at all.
    results = json.loads(gatekeeper_run.outputs["results.json"])
    text = json.dumps([r for r in results["results"] if r["status"] == "failed"])
    assert "message not kept" in text


def test_gatekeeper_suite_objects_are_redacted_like_cluster_objects(gatekeeper_run: Run) -> None:
    text = gatekeeper_run.outputs[gatekeeper_run.inventory_name]
    assert '"image":"ghcr.io/org/secret:latest"' in text  # an image is kept whole
    assert f'"args":["--password={marker("CANARY-GATOR-ARG")}","--verbose"]' in text
    assert f'{{"name":"DB_PASSWORD","value":"{marker("CANARY-GATOR-ENV")}"}}' in text
    assert '{"name":"LOG_LEVEL","value":"debug"}' in text


# --- AWS options -------------------------------------------------------------------------------------


def one_line_usage_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--aws-endpoint", "http://user:CANARY-ENDPOINT-PW@127.0.0.1:9"], "carries credentials"),
        (["--aws-endpoint", "ftp://user:CANARY-ENDPOINT-FTP@host"], "expected an http:// or https:// URL"),
        (["--aws-endpoint", "http://127.0.0.1:9/?X-Amz-Security-Token=CANARY-ENDPOINT-QUERY"], "no ?query"),
        (["--aws-endpoint", "http://[::1"], "not a URL"),
        (["--aws-endpoint", "http://127.0.0.1:9", "--aws-region", "eu_west_2!"], "not a region name"),
    ],
)
def test_bad_aws_options_are_one_line_usage_errors(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = kitemark("run", *args, "--out", str(tmp_path / "out"), "-n", "0")
    line = one_line_usage_error(proc)
    assert expected in line
    assert "CANARY" not in proc.stdout + proc.stderr
    assert not (tmp_path / "out" / "results.json").exists()


AWS_CONFIG = """
[profile failing]
credential_process = sh -c "echo CANARY-CREDENTIAL-PROCESS >&2; exit 3"

[profile loop]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = loop
"""


@pytest.mark.parametrize(
    ("profile", "expected"), [("failing", "custom-process failed"), ("loop", "Infinite loop")]
)
def test_a_broken_aws_profile_is_a_one_line_usage_error(tmp_path: Path, profile: str, expected: str) -> None:
    config = tmp_path / "config"
    config.write_text(AWS_CONFIG)
    env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    proc = kitemark("run", "--aws-profile", profile, "--out", str(tmp_path / "out"), "-n", "0", env=env)
    line = one_line_usage_error(proc)
    assert f"AWS profile {profile!r} cannot be used" in line and expected in line
    assert "CANARY" not in proc.stdout + proc.stderr  # credential_process's stderr is never shown


def test_a_malformed_aws_config_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[broken\naws_secret_access_key = CANARY-CONFIG\n")
    env = {"AWS_CONFIG_FILE": str(config)}
    proc = kitemark("run", "--aws-profile", "x", "--out", str(tmp_path / "out"), "-n", "0", env=env)
    assert "cannot be used" in one_line_usage_error(proc)
    assert "CANARY" not in proc.stdout + proc.stderr


# --- the policy itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "API_TOKEN", "awsSecretAccessKey", "DBPassword", "client-secret", "apiKey", "pwd",
     "spring.datasource.password", "connectionString", "BASIC_AUTH", "private_key", "credentials",
     "PGPASSWORD", "DB_PASS", "RABBITMQ_DEFAULT_PASS", "SECRET_KEY_BASE", "MASTER_KEY", "kubeconfig",
     "KUBECONFIG", "htpasswd", ".htpasswd", ".dockerconfigjson", ".dockercfg", "MYSQL_ROOT_PASSWORD",
     "REDIS_PASS", "PASSWD", "private-key", "client_secret", "session_key", "signing_key",
     "encryption_key", "rootPassword", "password_wo"],
)  # fmt: skip
def test_credential_like_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    ["secretName", "secret_id", "secretKeyRef", "imagePullSecrets", "DB_PASSWORD_FILE", "kms_key_id",
     "token_validity_units", "public_key", "LOG_LEVEL", "name", "value", "key", "author",
     "existingSecret", "existing_secret", "passwordFile", "PGPASSFILE", "tokenExpirationSeconds",
     "automountServiceAccountToken", "image", "bypass", "compass", "master_key_id"],
)  # fmt: skip
def test_names_that_only_name_a_secret(name: str) -> None:
    assert not is_credential_name(name)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("--password=hunter2 --verbose", "hunter2"),
        ("--token hunter2", "hunter2"),
        ("password: hunter2", "hunter2"),
        ('{"client_secret": "hunter2"}', "hunter2"),
        ("Server=db;Password=hunter2;Database=x", "hunter2"),
        ("export DB_PASSWORD=hunter2", "hunter2"),
        ("https://user:hunter2@example.org/x", "hunter2"),
        ("Authorization: Bearer hunter2", "Bearer hunter2"),
        ("id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("PGPASSWORD=hunter2 psql -h db", "hunter2"),
        ("REDIS_PASS=hunter2 redis-server", "hunter2"),
        ("mysql -u root -phunter2 app", "hunter2"),
        ("mysqldump --host db -phunter2 app > dump.sql", "hunter2"),
        ("password: correct horse hunter2", "correct horse hunter2"),
        ("password: correct horse hunter2\nuser: app", "correct horse hunter2"),
        ("{password: correct horse hunter2, user: app}", "correct horse hunter2"),
        ("note: see below password: hunter2", "hunter2"),
        ("client_secret: hunter2", "hunter2"),
        ("session_key=hunter2", "hunter2"),
        ("PASSWD=hunter2", "hunter2"),
    ],
)
def test_patterns_inside_free_text(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert "hunter2" not in redacted and secret not in redacted
    assert redaction.marker(secret) in redacted


@pytest.mark.parametrize(
    "text",
    ["image: nginx:1.25", "http://host:8080/path", "key: value", "DB_PASSWORD_FILE=/run/secrets/db",
     "commit 0123456789abcdef0123456789abcdef01234567", "secretName: db-credentials", "",
     # images, URL paths and host:port are not `key:value` (a colon with no space after it)
     "example.com/auth:latest", "ghcr.io/org/secret:latest", "myrepo/token:1.2.3", "token:latest",
     "image: ghcr.io/org/secret:latest", "docker run --rm ghcr.io/org/secret:latest", "vault-token:8200",
     "https://example.com/auth:callback", "registry.example/secret/app:v1@sha256:0123abcd",
     # names that refer to a secret, and switches named like one
     "existingSecret: db-credentials", "passwordFile: /run/secrets/pw", "tokenExpirationSeconds: 3600",
     "automountServiceAccountToken: false", "enable_password: true", "password: null",
     "secretKeyRef: {name: db, key: password}", "mysql -u root -p app", "ls -p /tmp"],
)  # fmt: skip
def test_plain_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_markers_tell_values_apart_without_showing_them() -> None:
    one, same, other = redaction.marker("hunter2"), redaction.marker("hunter2"), redaction.marker("hunter3")
    assert one == same != other and "hunter" not in one
    assert redaction.is_marker(one) and redact_text(f"password: {one}") == f"password: {one}"  # idempotent


def test_an_image_is_kept_unless_it_carries_url_user_information() -> None:
    for image in ["example.com/auth:latest", "ghcr.io/org/secret:latest", "myrepo/token:1.2.3",
                  "repo/app@sha256:0123abcd", "nginx"]:  # fmt: skip
        assert redaction.redact_image(image) == image
    assert redaction.redact_image("https://user:hunter2@registry/app:1") == (
        f"https://{redaction.marker('user:hunter2')}@registry/app:1"
    )


def test_cluster_objects_keep_images_and_switches() -> None:
    pod = {
        "kind": "Pod",
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {"image": "ghcr.io/org/secret:latest", "env": [{"name": "DB_PASS", "value": "hunter2"}]},
                {"image": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY:v1"},  # 40 characters, still a name
                {"image": "https://user:hunter2@registry/app:1"},
            ],
        },
    }
    spec = redact_document(pod)["spec"]
    assert spec["automountServiceAccountToken"] is False
    one, two, three = spec["containers"]
    assert one == {
        "image": "ghcr.io/org/secret:latest",
        "env": [{"name": "DB_PASS", "value": redaction.marker("hunter2")}],
    }
    assert two == {"image": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY:v1"}
    assert "hunter2" not in three["image"]


def test_gatekeeper_objects_are_redacted_by_the_cluster_rules() -> None:
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"key": "hunter2"}}
    applied = json.dumps({"kind": "Secret", "data": {"key": "hunter3"}})
    annotation = "kubectl.kubernetes.io/last-applied-configuration"
    docs = [
        {
            "kind": "Pod",
            "spec": {"containers": [{"args": ["--password", "hunter4"], "image": "a/secret:latest"}]},
        },
        {
            "kind": "AdmissionReview",
            "request": {"uid": "1", "object": dict(secret), "oldObject": dict(secret)},
        },
        {"kind": "Secret", "metadata": {"annotations": {annotation: applied}}, "data": {"key": ""}},
        {
            "kind": "ConfigMap",
            "metadata": {"managedFields": [{"manager": "helm"}]},
            "data": {"colour": "blue"},
        },
    ]
    pod, review, annotated, config = without_secret_values(docs)
    text = json.dumps([pod, review, annotated])
    assert "hunter" not in text
    assert pod["spec"]["containers"][0] == {
        "args": ["--password", redaction.marker("hunter4")],
        "image": "a/secret:latest",
    }
    assert review["request"]["object"]["data"] == {"key": redaction.marker("hunter2")}
    assert review["request"]["uid"] == "1"
    assert annotation not in annotated["metadata"]["annotations"]  # dropped, as in the cluster collector
    assert annotated["data"] == {"key": ""}
    # Nothing else changes: a policy reads the object as gator would.
    assert config == {
        "kind": "ConfigMap",
        "metadata": {"managedFields": [{"manager": "helm"}]},
        "data": {"colour": "blue"},
    }


def test_a_long_string_repeated_is_redacted_once() -> None:
    # A YAML alias repeats one string, a JSON snapshot equal ones: each is scanned once, not 200 times.
    value = ("token=hunter2 " + "lorem ipsum " * 10_000)[:100_000]
    data = {f"k{i}": value for i in range(200)}
    doc = json.loads(json.dumps({"kind": "ConfigMap", "metadata": {"name": "x"}, "data": data}))
    started = time.process_time()  # CPU time: other work on the machine does not count
    redact_document(doc)
    assert time.process_time() - started < 3  # 200 scans of 100 kB took ~10 s
    assert len(set(doc["data"].values())) == 1
    assert doc["data"]["k199"] == redact_text(value) and "hunter2" not in doc["data"]["k199"]


def test_url_userinfo_is_replaced_whole() -> None:
    assert redact_url("http://user:hunter2@host:9/x") == f"http://{redaction.marker('user:hunter2')}@host:9/x"
    assert redact_url("http://[::1") == "http://[::1"


@pytest.mark.parametrize(
    "text",
    [
        "QUJD" * 75_000,  # a 300 kB base64 blob: one long word
        "-----BEGIN RSA PRIVATE KEY-----" * 10_000,  # keys that never end
        "http://" + "a" * 300_000,
    ],
)
def test_megabyte_strings_are_redacted_in_linear_time(text: str) -> None:
    # Patterns that restart inside a long word take minutes here; linear ones well under a second.
    started = time.process_time()  # CPU time: other work on the machine does not count
    redact_text(text)
    assert time.process_time() - started < 10


# A policy that reads a Secret's values: its cases must be decided on the values as written (as gator
# decides them), while what is kept and shown holds only markers.
WEAK_TEMPLATE = """
    apiVersion: templates.gatekeeper.sh/v1
    kind: ConstraintTemplate
    metadata: {name: k8sweak}
    spec:
      crd:
        spec:
          names: {kind: K8sWeak}
      targets:
        - target: admission.k8s.gatekeeper.sh
          rego: |
            package k8sweak

            violation[{"msg": msg}] {
              value := input.review.object.stringData[key]
              count(value) < 12
              msg := sprintf("%v is the weak password %v (%v)", [key, value, base64.encode(value)])
            }
"""
WEAK = {
    "template.yaml": WEAK_TEMPLATE,
    "constraint.yaml": """
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: K8sWeak
        metadata: {name: c}
        spec: {match: {}}
    """,
    "weak.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: team-a}
        stringData: {password: CANARY-W}
    """,
    "strong.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: t, namespace: team-a}
        stringData: {password: CANARY-STRONG-ONE}
    """,
    "suite.yaml": """
        kind: Suite
        apiVersion: test.gatekeeper.sh/v1alpha1
        metadata: {name: s}
        tests:
          - name: weak
            template: template.yaml
            constraint: constraint.yaml
            cases:
              - name: weak-is-caught
                object: weak.yaml
                assertions: [{violations: 1, message: "weak password"}]
              - name: weak-said-fine
                object: weak.yaml
                assertions: [{violations: no}]
              - name: strong
                object: strong.yaml
                assertions: [{violations: no}]
    """,
}


def test_gatekeeper_cases_on_secrets_are_decided_on_the_values_as_written(tmp_path: Path) -> None:
    root = write(tmp_path / "policies", WEAK)
    run = Run(
        kitemark("run", "--policies", str(root), "--out", str(tmp_path / "out"), "-n", "0"), tmp_path / "out"
    )
    results = json.loads(run.outputs["results.json"])
    status = {r["unit"].rsplit("/", 1)[-1]: r for r in results["results"]}
    assert status["weak-is-caught"]["status"] == "passed", status["weak-is-caught"]
    assert status["strong"]["status"] == "passed", status["strong"]
    said_fine = status["weak-said-fine"]
    assert said_fine["status"] == "failed", said_fine  # as gator verify: the value is weak
    assert "message not kept" in json.dumps(said_fine)  # a message may hold the value in any form
    run.assert_redacted("CANARY-W", "CANARY-W")
    encoded = base64.b64encode(b"CANARY-W").decode()
    assert not [name for name, text in run.outputs.items() if encoded in text]
    run.assert_redacted("CANARY-STRONG-ONE", "CANARY-STRONG-ONE")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GITHUB_PAT=ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
        ("see github_pat_11ABCDEFG0123456789_abcdefghij", "github_pat_11ABCDEFG0123456789_abcdefghij"),
        ("hook xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("key sk_live_abcdefghijklmnop1234", "sk_live_abcdefghijklmnop1234"),
        (
            "Bearer eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abcdefghijk",
            "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abcdefghijk",
        ),
        ("curl -u admin:S3cretValue https://x", "S3cretValue"),
    ],
)
def test_tokens_known_by_their_form(text: str, secret: str) -> None:
    assert secret not in redaction.redact_text(text)


@pytest.mark.parametrize("name", ["GITHUB_PAT", "creds", "dbpwd", "SENTRY_DSN", "SLACK_WEBHOOK_URL"])
def test_more_credential_names(name: str) -> None:
    assert redaction.is_credential_name(name)


@pytest.mark.parametrize("name", ["compat", "path", "pwd_file", "DB_PASSWORD_FILE"])
def test_more_names_that_are_not_credentials(name: str) -> None:
    assert not redaction.is_credential_name(name)


def test_a_case_on_secrets_that_raises_is_an_error_not_the_end_of_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitemark.core.kinds import TargetSpec
    from kitemark.engines.gatekeeper import GatekeeperCase
    from kitemark.targets.policies import collect as policies

    def broken(self: GatekeeperCase) -> None:
        raise KeyError("CANARY-W")

    monkeypatch.setattr(GatekeeperCase, "run", broken)
    root = write(tmp_path / "policies", WEAK)
    inventory = policies.collect(TargetSpec("policies", "p", str(root), {}))
    outcomes = inventory["case_outcomes"]
    assert outcomes and all(o["error"] == "the case raised KeyError" for o in outcomes.values())
    assert "CANARY-W" not in json.dumps(outcomes)


@pytest.mark.parametrize(
    "shape",
    [
        "a\nfoo:{blanks}x\n",  # a key line whose value is far along (YAML block detection)
        "[db]\npassword = x{blanks}y\n",  # an INI line with blanks inside its value
        "a\nkey = a{blanks}b",
        "x\n{blanks}password:{blanks}|x",
    ],
)
def test_redaction_of_long_blank_runs_is_linear(shape: str) -> None:
    """Redaction runs after the parse limits, so its own patterns must be linear: two of them once took
    45 s on 20,000 blanks (and hours on a 1 MB snapshot file)."""
    import time

    from kitemark.core.redaction import redact_text

    text = shape.replace("{blanks}", " " * 200_000)
    started = time.process_time()
    redact_text(text)
    assert time.process_time() - started < 5

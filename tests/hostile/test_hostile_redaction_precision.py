"""Redaction precision (issue 6): names of secrets are kept as evidence, prose is not a secret, and
secrets in forms the first policy missed (YAML block scalars, a value in the next argument, Oracle and
INI forms, tokens known by their shape) are redacted.

Recall comes first: every "kept" case here has a twin that must still be redacted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from kitemark.core import redaction
from kitemark.core.redaction import is_credential_name, redact_text
from kitemark.targets.cluster.redaction import redact_document
from kitemark.targets.policies.gatekeeper_yaml import without_secret_values
from kitemark.targets.terraform.redaction import redact_secrets

M = redaction.marker


def assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked: {text!r}"
        assert M(secret) in text, f"no marker for {secret!r}: {text!r}"


# --- names that name a secret, not hold one -----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        # ingress controllers: the value is a Secret's `namespace/name`
        "nginx.ingress.kubernetes.io/auth-secret", "nginx.ingress.kubernetes.io/auth-tls-secret",
        "nginx.ingress.kubernetes.io/auth-secret-type", "nginx.ingress.kubernetes.io/proxy-ssl-secret",
        "ingress.kubernetes.io/auth-secret", "traefik.ingress.kubernetes.io/auth-secret",
        "haproxy.org/auth-secret", "nginx.org/basic-auth-secret",
        # Vault agent: the value is a path in Vault
        "vault.hashicorp.com/agent-inject-secret-db-password",
        # fields that hold a Secret's name or a key's name
        "tlsSecret", "caSecret", "credentialsSecret", "passwordSecretRef", "existingSecret", "secretKeyRef",
        "secretName", "tokenSecretRef", "existingSecretPasswordKey", "passwordSecretName",
    ],
)  # fmt: skip
def test_reference_names_are_not_credentials(name: str) -> None:
    assert not is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    [
        # an annotation of an unknown controller, named like a credential, still is one
        "example.com/api-token", "example.com/token", "mycompany.io/auth-secret", "example.com/password",
        # `*Secret` that hold the secret itself
        "jwtSecret", "cookieSecret", "clientSecret", "webhookSecret", "secretKey", "SECRET",
        # credential files and flags
        ".netrc", ".pgpass", "client-key-data", "passwords", "admin_passwords", "storepass", "keypass",
        "passin", "sig",
    ],
)  # fmt: skip
def test_names_that_still_hold_credentials(name: str) -> None:
    assert is_credential_name(name)


def test_ingress_secret_references_are_kept_unknown_annotations_redacted() -> None:
    annotations = {
        "nginx.ingress.kubernetes.io/auth-type": "basic",
        "nginx.ingress.kubernetes.io/auth-secret": "team-a/basic-auth",
        "nginx.ingress.kubernetes.io/auth-secret-type": "auth-map",
        "nginx.ingress.kubernetes.io/auth-tls-secret": "team-a/ca-secret",
        "nginx.ingress.kubernetes.io/proxy-ssl-secret": "team-a/upstream-ca",
        "example.com/api-token": "hunter2-api",
    }
    ingress = {"kind": "Ingress", "metadata": {"name": "web", "annotations": dict(annotations)}}
    kept = redact_document(ingress)["metadata"]["annotations"]
    assert kept == {**annotations, "example.com/api-token": M("hunter2-api")}


def test_external_secret_key_names_are_kept() -> None:
    external = {
        "apiVersion": "external-secrets.io/v1beta1",
        "kind": "ExternalSecret",
        "spec": {
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws"},
            "target": {"name": "db"},
            "data": [
                {"secretKey": "DB_PASSWORD", "remoteRef": {"key": "prod/db", "property": "password"}},
                {"secretKey": "token", "sourceRef": {"generatorRef": {"kind": "Password", "name": "gen"}}},
            ],
        },
    }
    push = {
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "spec": {"data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "db"}}}]},
    }
    expected = json.loads(json.dumps([external, push]))
    assert [redact_document(external), redact_document(push)] == expected


def test_a_secret_key_without_a_remote_ref_is_still_a_secret() -> None:
    # MinIO, Loki, Velero configs: `secretKey` holds the S3 secret key itself.
    config = {"kind": "Tenant", "spec": {"s3": {"region": "eu", "secretKey": "hunter2-minio"}}}
    assert redact_document(config)["spec"]["s3"] == {"region": "eu", "secretKey": M("hunter2-minio")}


def test_terraform_keeps_external_secret_key_names() -> None:
    parsed = {
        "resource": [
            {
                "kubernetes_manifest": {
                    "es": {
                        "manifest": {
                            "apiVersion": "external-secrets.io/v1beta1",
                            "kind": "ExternalSecret",
                            "spec": {
                                "data": [{"secretKey": "password", "remoteRef": {"key": "prod/db"}}],
                                "auth": {"secretKey": "hunter2-tf"},
                            },
                        }
                    }
                }
            }
        ]
    }
    spec = redact_secrets(parsed)["resource"][0]["kubernetes_manifest"]["es"]["manifest"]["spec"]
    assert spec["data"] == [{"secretKey": "password", "remoteRef": {"key": "prod/db"}}]
    assert spec["auth"] == {"secretKey": M("hunter2-tf")}


# --- prose -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Password: self-service reset",
        "The secret: keep it safe.",
        "secret: squirrels and nuts",
        "Token: see the team's runbook",
        # real: gatekeeper-library and MoJ cloud-platform-environments
        "Digital Prison Services: dps-hmpps@digital.justice.gov.uk",
        "AI workload container has a plain-text credential env var; use secretKeyRef instead",
        'Example patterns: ".*_KEY$", ".*_TOKEN$", ".*_SECRET$".',
    ],
)
def test_prose_is_not_a_secret(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        # one word after a credential name is a weak password as often as it is prose: redacted
        ("secret: squirrels", "squirrels"),
        ("password: sunshine", "sunshine"),
        # a word that is not a dictionary word makes it a credential
        ("Password: correct horse 7battery", "correct horse 7battery"),
        ("note: admin password: Tr0ub4dor&3 for now", "Tr0ub4dor&3 for now"),
        # an authorization scheme is never prose
        ("Authorization: Bearer abcdef", "Bearer abcdef"),
        ("Authorization: Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"),
        # a URL is not a plain word (`api_token: https://host/TOKEN please`)
        ("Reset your password: visit https://example.org/reset", "visit https://example.org/reset"),
        # a configuration file (several lines, the key at the start of one): the whole value
        ("user: app\npassword: correct horse battery\n", "correct horse battery"),
        ("[db]\n  - password: correct horse battery\n", "correct horse battery"),
    ],
)
def test_credential_values_are_redacted_even_when_they_read_as_words(text: str, secret: str) -> None:
    assert_hidden(redact_text(text), secret)


# --- YAML block scalars and values on the next lines --------------------------------------------------


def test_a_block_scalar_under_a_credential_key_is_redacted_whole() -> None:
    text = "db:\n  user: app\n  password: |\n    hunter2-line-one\n    hunter2-line-two\n  port: 5432\n"
    redacted = redact_text(text)
    assert "hunter2" not in redacted
    body = "hunter2-line-one\n    hunter2-line-two"  # from the first line's text to the last line's end
    assert redacted == f"db:\n  user: app\n  password: |\n    {M(body)}\n  port: 5432\n"


@pytest.mark.parametrize("indicator", [">-", "|+", ">", "|2", "| # the db password"])
def test_every_block_indicator_is_understood(indicator: str) -> None:
    text = f"password: {indicator}\n  hunter2 folded\n  onto two lines\n\nnext: 1\n"
    redacted = redact_text(text)
    assert "hunter2" not in redacted and "onto two lines" not in redacted
    assert redacted.endswith("\n\nnext: 1\n") and redacted.startswith(f"password: {indicator}\n  <redacted")


def test_a_plain_value_on_the_next_line_is_redacted() -> None:
    redacted = redact_text("auth:\n  token:\n    hunter2-next-line\n  ttl: 5m\n")
    assert "hunter2" not in redacted and redacted.endswith("\n  ttl: 5m\n")


def test_a_nested_mapping_under_a_credential_key_is_not_a_value() -> None:
    # `password:` opening a mapping (a reference to a Secret): its lines are read as keys of their own.
    text = "password:\n  secretKeyRef:\n    name: db\n    key: password\n"
    assert redact_text(text) == text
    listed = "token:\n  - name: a\n    value: hunter2-listed\n"
    assert redact_text(listed) == listed  # a list of pairs: `value` is not a credential name


def test_a_list_under_a_credential_key_has_its_items_redacted() -> None:
    text = "api:\n  tokens: x\n  token:\n    - hunter2-one\n    - hunter2-two\n    - {name: a}\n  ttl: 5\n"
    redacted = redact_text(text)
    assert_hidden(redacted, "hunter2-one", "hunter2-two")
    assert "- {name: a}\n  ttl: 5\n" in redacted
    pod = {"kind": "X", "spec": {"token": ["hunter2-one", {"name": "a", "value": "b"}], "tokens": ["c"]}}
    assert redact_document(pod)["spec"] == {
        "token": [M("hunter2-one"), {"name": "a", "value": "b"}],
        "tokens": ["c"],
    }


def test_a_configmap_holding_a_yaml_file_keeps_its_structure() -> None:
    config = {
        "kind": "ConfigMap",
        "metadata": {"name": "app"},
        "data": {
            "application.yaml": "spring:\n  datasource:\n    password: >-\n      hunter2-x\n    url: jdbc:x\n"
        },
    }
    text = redact_document(config)["data"]["application.yaml"]
    assert "hunter2" not in text and text.endswith("    url: jdbc:x\n")


# --- argument lists read as a sequence -----------------------------------------------------------------


def container(args: list[str], image: str = "busybox", key: str = "args") -> dict[str, Any]:
    return {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": image, key: args}]}}


def argv(args: list[str], image: str = "busybox", key: str = "args") -> list[str]:
    redacted: list[str] = redact_document(container(args, image, key))["spec"]["containers"][0][key]
    return redacted


@pytest.mark.parametrize(
    ("args", "image", "secret"),
    [
        (["mysql", "-u", "root", "-phunter2", "app"], "busybox", "hunter2"),
        (["/usr/bin/mysqldump", "-phunter2", "app"], "busybox", "hunter2"),
        (["-u", "root", "-phunter2"], "docker.io/library/mysql:8.0", "hunter2"),  # the image's entrypoint
        (["--password", "hunter2"], "busybox", "hunter2"),
        (["--token", "hunter2"], "busybox", "hunter2"),
        (["sshpass", "-p", "hunter2", "ssh", "host"], "busybox", "hunter2"),
        (["mongosh", "-u", "app", "-p", "hunter2"], "busybox", "hunter2"),
        (["redis-cli", "-a", "hunter2", "ping"], "busybox", "hunter2"),
        (["redis-cli", "-h", "db", "-a", "hunter2"], "redis:7", "hunter2"),
        (["docker", "login", "-u", "me", "-p", "hunter2", "registry"], "docker:cli", "hunter2"),
        (["keytool", "-importkeystore", "-storepass", "hunter2"], "busybox", "hunter2"),
        (["openssl", "pkcs12", "-export", "-passout", "pass:hunter2"], "busybox", "hunter2"),
    ],
)
def test_a_password_in_its_own_argument_is_redacted(args: list[str], image: str, secret: str) -> None:
    assert_hidden(json.dumps(argv(args, image)), secret)


@pytest.mark.parametrize(
    "args",
    [
        ["curl", "-u", "admin:hunter2", "https://x"],
        ["curl", "--user", "admin:hunter2", "https://x"],
        ["curl", "--user=admin:hunter2", "https://x"],
        ["curl", "-U", "proxy:hunter2", "https://x"],
    ],
)
def test_curl_user_and_password_keep_the_user(args: list[str]) -> None:
    text = json.dumps(argv(args, key="command"))
    assert_hidden(text, "hunter2")
    assert "admin:" in text or "proxy:" in text


@pytest.mark.parametrize(
    "args",
    [
        ["mysql", "-u", "root", "-p", "appdb"],  # `-p` alone prompts: `appdb` is the database
        ["docker", "run", "-p", "8080:80", "-u", "1000:1000", "nginx"],  # a port, a uid:gid
        ["ls", "-p", "/tmp"],
        ["psql", "-U", "app", "-d", "appdb"],
    ],
)
def test_arguments_that_are_not_passwords_are_kept(args: list[str]) -> None:
    assert argv(args) == args


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("sshpass -p hunter2 ssh host", "hunter2"),
        ("redis-cli -a hunter2 ping", "hunter2"),
        ("docker login -u me -p hunter2 registry", "hunter2"),
        ("mongodump -u app -p hunter2 --db x", "hunter2"),
        ("openssl pkcs12 -in a.p12 -passin pass:hunter2", "hunter2"),
        ("keytool -list -storepass hunter2", "hunter2"),
        ("kubectl create secret generic x --from-literal=password=hunter2", "hunter2"),
    ],
)
def test_command_lines_in_text(text: str, secret: str) -> None:
    assert_hidden(redact_text(text), secret)


@pytest.mark.parametrize(
    "text", ["docker run -u 1000:1000 -p 8080:80 img", "mysql -u root -p appdb", "redis-cli -h db ping"]
)
def test_command_lines_without_passwords_are_kept(text: str) -> None:
    assert redact_text(text) == text


# --- more forms found in real configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("jdbc:oracle:thin:scott/hunter2@db:1521/orcl", "hunter2"),
        ("sqlplus -s scott/hunter2@//db:1521/orcl @run.sql", "hunter2"),
        ("postgres://app:p@ss-hunter2@db:5432/app", "p@ss-hunter2"),
        ("[default]\naws_secret_access_key = hunter2/with+slash\n", "hunter2/with+slash"),
        ("[client]\npassword = correct horse battery\nhost = db\n", "correct horse battery"),
        ("spring.datasource.password=correct horse battery\nspring.x=1", "correct horse battery"),
        ("<server><id>r</id><password>hunter2</password></server>", "hunter2"),
        ("slack_api_url: https://hooks.slack.com/services/T0000/B0000/hunter2XYZ", "T0000/B0000/hunter2XYZ"),
        ("https://acct.blob.core.windows.net/c/b?sv=2020-08-04&sig=hunter2%2Babc", "hunter2%2Babc"),
        ("https://x/api?access_token=hunter2&page=2", "hunter2"),
        ("key=AIzaSyA1234567890abcdefghijklmnopqrstu", "AIzaSyA1234567890abcdefghijklmnopqrstu"),
        ("GITLAB=glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789"),
        ("OPENAI sk-proj-abcdefghijklmnop0123456789", "sk-proj-abcdefghijklmnop0123456789"),
        ("machine github.com login me password hunter2", "hunter2"),
    ],
)
def test_more_forms_of_secrets_in_text(text: str, secret: str) -> None:
    assert_hidden(redact_text(text), secret)


def test_private_keys_in_other_armours() -> None:
    pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBFhunter2\n-----END PGP PRIVATE KEY BLOCK-----"
    assert "hunter2" not in redact_text(pgp)
    encoded = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVB"  # base64 of a PEM key
    assert_hidden(redact_text(f"users:\n- user:\n    client-key-data: {encoded}\n"), encoded)
    assert_hidden(redact_text(f"blob {encoded} end"), encoded)
    certificate = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="  # base64 of a certificate: public
    assert redact_text(f"certificate-authority-data: {certificate}") == (
        f"certificate-authority-data: {certificate}"
    )


def test_markers_are_stable_within_a_run() -> None:
    text = "password: |\n  hunter2\nargs: --token hunter3\n"
    assert redact_text(text) == redact_text(text)
    assert argv(["sshpass", "-p", "hunter2"]) == argv(["sshpass", "-p", "hunter2"])


def test_gatekeeper_objects_get_the_same_precision() -> None:
    ingress = {
        "kind": "Ingress",
        "metadata": {"annotations": {"nginx.ingress.kubernetes.io/auth-secret": "basic-auth"}},
    }
    pod = container(["-u", "root", "-phunter2"], "mysql:8")
    kept_ingress, kept_pod = without_secret_values([ingress, pod])
    annotations = kept_ingress["metadata"]["annotations"]
    assert annotations == {"nginx.ingress.kubernetes.io/auth-secret": "basic-auth"}
    assert "hunter2" not in json.dumps(kept_pod)


# --- one real run: nothing reaches any output, references stay ----------------------------------------

KEY = "hostile-redaction-precision-key"
SNAPSHOT = {
    "ingress.yaml": """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          namespace: team-a
          annotations:
            nginx.ingress.kubernetes.io/auth-type: basic
            nginx.ingress.kubernetes.io/auth-secret: team-a/basic-auth
            description: "Password: self-service reset"
        spec:
          rules: [{host: web.example.org}]
    """,
    "external.yaml": """
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: db, namespace: team-a}
        spec:
          secretStoreRef: {kind: ClusterSecretStore, name: aws}
          data:
            - secretKey: DB_PASSWORD
              remoteRef: {key: team-a/db, property: password}
    """,
    "config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app, namespace: team-a}
        data:
          application.yaml: |
            datasource:
              password: |
                CANARY-BLOCK-LINE-ONE
                CANARY-BLOCK-LINE-TWO
              url: jdbc:postgresql://db/app
          my.cnf: |
            [client]
            password = CANARY-INI words
    """,
    "pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata: {name: backup, namespace: team-a}
        spec:
          containers:
            - name: dump
              image: mysql:8.0
              command: ["mysqldump"]
              args: ["-u", "root", "-pCANARY-MYSQL-ARG", "app"]
            - name: ssh
              image: alpine
              command: ["sshpass", "-p", "CANARY-SSHPASS", "ssh", "host"]
            - name: curl
              image: curlimages/curl
              args: ["-u", "admin:CANARY-CURL", "https://example.org"]
    """,
}
CANARIES = ["CANARY-BLOCK-LINE", "CANARY-INI", "CANARY-MYSQL-ARG", "CANARY-SSHPASS", "CANARY-CURL"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    root = tmp_path_factory.mktemp("snapshot")
    for name, text in SNAPSHOT.items():
        (root / name).write_text(textwrap.dedent(text))
    out = tmp_path_factory.mktemp("out")
    command = ["run", "--cluster", f"snap=snapshot:{root}", "--out", str(out), "-n", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "kitemark", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KITEMARK_REDACTION_KEY": KEY},
    )
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
    outputs |= {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}
    [inventory] = [json.loads(t) for n, t in outputs.items() if n.startswith("inventory/")]
    return outputs, {o["metadata"]["name"]: o for o in inventory["objects"]}


@pytest.mark.parametrize("canary", CANARIES)
def test_no_canary_reaches_any_output(run: tuple[dict[str, str], dict[str, Any]], canary: str) -> None:
    outputs, _ = run
    assert not [name for name, text in outputs.items() if canary in text]


def test_references_and_prose_reach_the_inventory(run: tuple[dict[str, str], dict[str, Any]]) -> None:
    _, objects = run
    annotations = objects["web"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-secret"] == "team-a/basic-auth"
    assert annotations["description"] == "Password: self-service reset"
    [item] = objects["db"]["spec"]["data"]
    assert item == {"secretKey": "DB_PASSWORD", "remoteRef": {"key": "team-a/db", "property": "password"}}
    config = objects["app"]["data"]["application.yaml"]
    assert "password: |\n" in config and config.endswith("  url: jdbc:postgresql://db/app\n")
    curl = objects["backup"]["spec"]["containers"][2]["args"]
    assert curl[0] == "-u" and curl[1].startswith("admin:<redacted hmac:")


def test_switches_named_like_credentials_stay_switches() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {
            "annotations": {
                "vault.hashicorp.com/agent-inject-token": "true",
                "vault.hashicorp.com/agent-inject-secret-db": "kv/data/team-a/db",
                "example.com/api-token": "hunter2-token",
            }
        },
    }
    assert redact_document(pod)["metadata"]["annotations"] == {
        "vault.hashicorp.com/agent-inject-token": "true",
        "vault.hashicorp.com/agent-inject-secret-db": "kv/data/team-a/db",
        "example.com/api-token": M("hunter2-token"),
    }


@pytest.mark.parametrize(
    "text",
    [  # a few hundred kB each: linear takes well under a second, quadratic takes minutes
        "a=" * 150_000,  # every word a key: scanned key by key, once
        "".join(" " * (i % 100) + "password:\n" for i in range(8_000)),  # nested keys, never a value
        "password: |\n  x\n" * 12_000,
        "a://b:" + "@x" * 100_000,  # URL user information up to the last `@`
        "LS0tLS1CRUdJTi" + "QUJD" * 100_000,
        "<password>" + "x" * 300_000,
        "sshpass " + "-p x " * 20_000,
        "curl " + "-u a:b " * 20_000,
        "sqlplus " + "a/b" * 100_000 + "@x",
    ],
)
def test_new_forms_are_redacted_in_linear_time(text: str) -> None:
    # CPU time, not wall clock: a loaded machine must not fail it; a quadratic pattern takes hours here.
    started = time.process_time()
    redact_text(text)
    assert time.process_time() - started < 20

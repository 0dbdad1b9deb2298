"""Review of the redaction policy (fix 6): quoted passwords on command lines, a password that starts
with `-`, and exemptions that kept real values (`secretKey` beside a `sourceRef` outside
external-secrets.io, `existingPassword`, a URL read as a plain word of prose)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from kitemark.core import redaction
from kitemark.core.redaction import is_credential_name, redact_text
from kitemark.targets.cluster.redaction import redact_document
from kitemark.targets.policies.gatekeeper_yaml import without_secret_values
from kitemark.targets.terraform.redaction import redact_secrets

M = redaction.marker
CANARY = "Canary-5ecret"


def assert_hidden(text: str) -> None:
    assert CANARY not in text, f"leaked: {text!r}"
    assert "<redacted" in text, f"no marker: {text!r}"


QUOTED = [
    f'mysql -u root -p"{CANARY}" app',
    f"mysql -u root -p'{CANARY}' app",
    f'sshpass -p "{CANARY}" ssh host',
    f"redis-cli -a '{CANARY}' ping",
    f'mongosh -u app -p "{CANARY}" --host db',
    f'docker login -u me -p "{CANARY}" registry',
    f'tool --password "{CANARY}" --verbose',
    f"tool --password '{CANARY} with spaces' --verbose",
    f'keytool -list -storepass "{CANARY}"',
    f'sshpass -p "{CANARY} two words" ssh host',
]


@pytest.mark.parametrize("text", QUOTED)
def test_quoted_passwords_on_command_lines_in_text(text: str) -> None:
    assert_hidden(redact_text(text))


@pytest.mark.parametrize("text", QUOTED)
def test_quoted_passwords_in_a_configmap_script_and_user_data(text: str) -> None:
    script = f"#!/bin/sh\nset -e\n{text}\necho done\n"
    config = {"kind": "ConfigMap", "data": {"run.sh": script}}
    assert_hidden(json.dumps(redact_document(config)))
    parsed = {"resource": [{"aws_instance": {"web": {"user_data": script}}}]}
    assert_hidden(json.dumps(redact_secrets(parsed)))


@pytest.mark.parametrize("text", QUOTED)
def test_quoted_passwords_in_a_shell_argument(text: str) -> None:
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "busybox",
                                                   "command": ["sh", "-c", text]}]}}  # fmt: skip
    assert_hidden(json.dumps(redact_document(pod)))


@pytest.mark.parametrize("flag", ["-u", "--user"])
def test_curl_quoted_user_keeps_the_user(flag: str) -> None:
    text = redact_text(f'curl {flag} "admin:{CANARY}" https://x')
    assert_hidden(text)
    assert '"admin:<redacted' in text


@pytest.mark.parametrize("flag", ["--password", "--token", "-storepass"])
def test_a_password_starting_with_a_dash_after_a_credential_flag(flag: str) -> None:
    args = ["tool", flag, f"-{CANARY}", "--verbose"]
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "busybox", "args": args}]}}
    out = redact_document(pod)["spec"]["containers"][0]["args"]
    assert_hidden(json.dumps(out))
    assert out[0] == "tool" and out[1] == flag and out[3] == "--verbose"


def test_quoted_text_that_is_not_a_password_is_kept() -> None:
    for text in ['docker run -p "8080:80" img', 'mysql -u root -p "appdb"', 'ls -a "dir"', 'grep -p "x"']:
        assert redact_text(text) == text


# --- exemptions ------------------------------------------------------------------------------------


def test_secret_key_beside_source_ref_outside_external_secrets_is_redacted() -> None:
    flux = {
        "apiVersion": "example.io/v1",
        "kind": "Store",
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "x"}, "secretKey": CANARY},
    }
    assert_hidden(json.dumps(redact_document(json.loads(json.dumps(flux)))))
    assert_hidden(json.dumps(without_secret_values([json.loads(json.dumps(flux))])))
    data = [{"secretKey": CANARY, "remoteRef": {"key": "k"}}]
    no_version = {"kind": "ExternalSecret", "spec": {"data": data}}
    assert_hidden(json.dumps(redact_document(no_version)))


def test_secret_key_kept_for_external_secrets_objects() -> None:
    for version in ("external-secrets.io/v1beta1", "external-secrets.io/v1alpha1"):
        es = {"apiVersion": version, "kind": "ExternalSecret",
              "spec": {"data": [{"secretKey": "DB_PASSWORD", "remoteRef": {"key": "k"}}]}}  # fmt: skip
        assert redact_document(json.loads(json.dumps(es))) == es
        assert without_secret_values([json.loads(json.dumps(es))]) == [es]


def test_terraform_secret_key_needs_the_manifest_api_version() -> None:
    def manifest(version: str) -> dict[str, Any]:
        spec = {"data": [{"secretKey": "DB_PASSWORD", "remoteRef": {"key": "k"}}], "sourceRef": {},
                "secretKey": CANARY}  # fmt: skip
        body = {"manifest": {"apiVersion": version, "kind": "X", "spec": spec}}
        return {"resource": [{"kubernetes_manifest": {"m": body}}]}

    kept = redact_secrets(manifest("external-secrets.io/v1beta1"))
    spec = kept["resource"][0]["kubernetes_manifest"]["m"]["manifest"]["spec"]
    assert spec["data"][0]["secretKey"] == "DB_PASSWORD"
    other = redact_secrets(manifest("source.toolkit.fluxcd.io/v1"))
    spec = other["resource"][0]["kubernetes_manifest"]["m"]["manifest"]["spec"]
    assert_hidden(json.dumps(spec))
    assert spec["data"][0]["secretKey"] != "DB_PASSWORD"


@pytest.mark.parametrize("name", ["existingPassword", "existingToken", "existing_api_key", "existingAuth"])
def test_existing_values_are_credentials(name: str) -> None:
    assert is_credential_name(name)
    assert_hidden(json.dumps(redact_document({"kind": "X", "spec": {name: CANARY}})))


@pytest.mark.parametrize("name", ["existingSecret", "existing_secret", "existingSecretPasswordKey"])
def test_existing_secret_names_are_kept(name: str) -> None:
    assert not is_credential_name(name)


def test_switches_defined_once() -> None:
    from kitemark.core import secret_forms
    from kitemark.targets.cluster import redaction as cluster

    assert not hasattr(cluster, "_SWITCHES") and not hasattr(secret_forms, "_NOT_SECRETS")
    assert {"true", "false", "yes", "no", "null", "~"} <= secret_forms.SWITCHES


@pytest.mark.parametrize(
    "text",
    [f"api_token: https://host/{CANARY} please", f"password: see https://x.example/{CANARY} now"],
)
def test_a_url_is_not_a_plain_word_of_prose(text: str) -> None:
    assert_hidden(redact_text(text))


@pytest.mark.parametrize(
    "text",
    [
        "sshpass " + '-p "x ' * 100_000,
        "sshpass " + "-p 'x " * 100_000,
        "mysql " + '-p"' * 200_000,
        "curl " + '-u "a:b ' * 100_000,
        "a " + '--password "x ' * 100_000,
        "redis-cli " + "-a '" * 200_000,
    ],
)
def test_quoted_forms_are_linear(text: str) -> None:
    started = time.process_time()
    redact_text(text)
    assert time.process_time() - started < 5

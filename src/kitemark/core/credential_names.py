"""Which names hold a credential: the *names* half of Kitemark's redaction policy
(``kitemark.core.redaction``).

A name holds a credential when, lower-cased with `-`, `.`, `/`, spaces and camelCase humps read as `_`
(leading and trailing `_` and a write-only `_wo` suffix dropped), it is one of CREDENTIAL_NAMES, ends
with one of CREDENTIAL_SUFFIXES, or ends with a word of CREDENTIAL_ENDINGS glued to another
(`PGPASSWORD`, `htpasswd`): `password`, `DB_PASSWORD`, `DB_PASS`, `apiKey`, `client-secret`,
`.dockerconfigjson`, `spring.datasource.password`, `awsSecretAccessKey`, `example.com/api-token`.

Names that only *name* a secret are kept, so the evidence checks read survives:

- not `*_key` (kms_key_id, object keys), nor `*_id`/`*_arn`/`*_name`/`*_ref`/`*_file` (`secret_id`,
  `secretName`, `secretKeyRef`, `passwordSecretRef`, `DB_PASSWORD_FILE` say which secret or where it is);
- not NOT_CREDENTIAL_PREFIXES (`existingSecret*` names a Secret, `automountServiceAccountToken` is a switch),
  while `existingPassword` and `existingToken` hold one;
- not `<qualifier>_secret` for a REFERENCE_QUALIFIERS qualifier (`tlsSecret`, `caSecret`,
  `credentialsSecret`, `imagePullSecret` name a Secret object), while `jwtSecret`, `cookieSecret` and
  `clientSecret` are secrets;
- not the annotations of ingress controllers that name a Secret (`nginx.ingress.kubernetes.io/auth-secret:
  team-a/basic-auth`), nor Vault agent's paths (`vault.hashicorp.com/agent-inject-secret-db: kv/db`);
  an annotation of any other domain named like a credential (`example.com/auth-secret`) still is one;
- an ExternalSecret's or PushSecret's `secretKey` beside its `remoteRef`/`sourceRef` names the key it
  fills (``names_a_key``), in an object whose apiVersion group is external-secrets.io
  (``is_external_secrets``); elsewhere (MinIO, Loki, Velero settings, Flux's `sourceRef`) `secretKey` is
  a secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container

CREDENTIAL_NAMES = frozenset(
    {
        "password", "passwords", "passwd", "pwd", "passphrase", "pass", "secret", "secret_key",
        "secret_access_key", "access_key", "access_key_id", "token", "session_token", "auth", "auth_token",
        "authorization",
        "private_key", "private_key_pem", "client_secret", "api_key", "apikey", "secret_string",
        "secret_binary", "credential", "credentials", "creds", "connection_string", "connectionstring",
        "plaintext", "secret_key_base", "master_key", "session_key", "signing_key", "encryption_key",
        "kubeconfig", "dockerconfigjson", "dockercfg", "pat", "dsn", "webhook_url", "netrc", "pgpass",
        "client_key", "client_key_data", "storepass", "keypass", "srcstorepass", "deststorepass",
        "srckeypass", "destkeypass", "passin", "passout", "sig", "x_amz_signature", "x_goog_signature",
    }
)  # fmt: skip
CREDENTIAL_SUFFIXES = (
    "_password", "_passwords", "_passwd", "_pwd", "_passphrase", "_secret", "_secret_key", "_token", "_auth",
    "_private_key", "_api_key", "_apikey", "_access_key", "_credential", "_credentials",
    "_connection_string", "_connectionstring", "_signing_key", "_encryption_key", "_pass",
    "_secret_key_base", "_master_key", "_session_key", "_kubeconfig", "_pat", "_creds", "_dsn",
    "_webhook_url",
)  # fmt: skip
CREDENTIAL_ENDINGS = ("password", "passwd", "passphrase", "pwd")
NOT_CREDENTIAL_PREFIXES = ("existing_secret", "automount_")  # not `existingPassword`: that holds one
REFERENCE_QUALIFIERS = frozenset({"tls", "ssl", "ca", "cert", "certificate", "credentials", "pull"})
# Ingress controllers whose `*-secret` annotations hold a Secret's `namespace/name`.
SECRET_NAMING_DOMAINS = frozenset(
    {
        "nginx.ingress.kubernetes.io",
        "ingress.kubernetes.io",
        "traefik.ingress.kubernetes.io",
        "haproxy.org",
        "haproxy-ingress.github.io",
        "nginx.org",
        "nginx.com",
    }
)
VAULT_PATH_ANNOTATIONS = (
    "vault.hashicorp.com/agent-inject-secret-",
    "vault.hashicorp.com/agent-inject-template-",
)
# `{secretKey: DB_PASSWORD, remoteRef: {...}}`: the key of the Secret an ExternalSecret fills.
KEY_NAMING_SIBLINGS = ("remoteRef", "sourceRef")

_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[-./\s]+")


def is_credential_name(name: object) -> bool:
    """Does a value held under this name hold a credential (see the module's docstring)?"""
    return isinstance(name, str) and len(name) <= 200 and credential_key(name)


@functools.lru_cache(maxsize=8192)  # the same few keys recur in every object of a snapshot
def credential_key(name: str) -> bool:
    """``is_credential_name`` for a string known to be short (a mapping's key): cached, for hot loops."""
    bare = name.strip("\"' -")
    if "/" in bare and _names_a_secret(bare.lower()):
        return False
    normal = _SEPARATORS.sub("_", _HUMP.sub("_", bare)).lower().strip("_").removesuffix("_wo")
    if normal.startswith(NOT_CREDENTIAL_PREFIXES):
        return False
    if normal in CREDENTIAL_NAMES:
        return True
    if normal.endswith("_secret") and normal[:-7].rpartition("_")[2] in REFERENCE_QUALIFIERS:
        return False
    return normal.endswith(CREDENTIAL_SUFFIXES + CREDENTIAL_ENDINGS)


def _names_a_secret(annotation: str) -> bool:
    domain, _, name = annotation.rpartition("/")
    if domain in SECRET_NAMING_DOMAINS:
        return name.endswith("secret") or name == "auth-secret-type"
    return annotation.startswith(VAULT_PATH_ANNOTATIONS)


def is_external_secrets(api_version: object) -> bool:
    """Is this an object of the External Secrets Operator (its apiVersion's group is external-secrets.io)?"""
    return isinstance(api_version, str) and api_version.partition("/")[0] == "external-secrets.io"


def names_a_key(key: object, mapping: Container[str]) -> bool:
    """Is ``key`` an ExternalSecret's or PushSecret's ``secretKey`` (the name of the key it fills),
    known by its ``remoteRef``/``sourceRef`` beside it in ``mapping``? Only ask inside an object for which
    ``is_external_secrets``: Flux and others have a ``sourceRef`` too."""
    return key == "secretKey" and any(sibling in mapping for sibling in KEY_NAMING_SIBLINGS)

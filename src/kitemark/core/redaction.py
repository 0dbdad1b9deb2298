"""Kitemark's one redaction policy: which values are secrets, and what replaces them.

Every collector applies it as values are read, so no secret reaches an inventory, a report, a log
or an error message. Two rules decide what is a secret:

- *names* (``is_credential_name``): a value held under a credential-like key, attribute or variable
  name (``password``, ``DB_PASSWORD``, ``PGPASSWORD``, ``REDIS_PASS``, ``apiToken``,
  ``awsSecretAccessKey``, ``client-secret``, ``connection_string``, ``.dockerconfigjson``...);
- *patterns inside free text* (``redact_text``): ``--password=x`` and ``--token x`` arguments,
  ``password: x y`` (to the end of the line) / ``"password": "x"`` / ``Password=x;`` (connection
  strings) / ``export X_TOKEN=x`` / ``PGPASSWORD=x psql`` (shell, ``user_data``), ``mysql -px``, the
  password of a URL (``scheme://user:pass@host``), the body of a PEM private key, AWS access key ids and
  secret access keys. A colon with no space after it is not an assignment: ``ghcr.io/org/secret:latest``
  is an image and ``vault:8200`` a host and port.

A secret becomes a marker, ``<redacted hmac:1a2b3c4d>``: an HMAC-SHA256 of the value, truncated to 32
bits, under a key chosen at random for each run (or ``KITEMARK_REDACTION_KEY`` when set). Within one
run two equal values get the same marker and two different ones (almost surely) different markers,
so a reviewer can tell them apart without seeing either; a plain digest of a low-entropy password
could be reversed by trying a dictionary against an archived report, a keyed one cannot without the
key. Empty values stay empty (a check may need to know a value is unset); booleans and null are never
secrets (``automountServiceAccountToken: false`` stays as it is), nor are container images
(``redact_image``: only a URL's user information is).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

KEY_VARIABLE = "KITEMARK_REDACTION_KEY"
_key: bytes | None = None

MARKER = re.compile(r"<redacted(?: hmac:[0-9a-f]{8})?>")


def configured_key() -> str | None:
    """The key ``KITEMARK_REDACTION_KEY`` sets (shards of one run, runs to compare), if any."""
    return os.environ.get(KEY_VARIABLE) or None


def _run_key() -> bytes:
    global _key
    if _key is None:
        configured = configured_key()
        _key = configured.encode() if configured else secrets.token_bytes(32)
    return _key


def marker(value: object) -> str:
    """The marker that stands for ``value`` in every output of this run."""
    text = value if isinstance(value, str) else repr(value)
    digest = hmac.new(_run_key(), text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"<redacted hmac:{digest[:8]}>"


def is_marker(text: object) -> bool:
    return isinstance(text, str) and MARKER.fullmatch(text) is not None


# --- names -----------------------------------------------------------------------------------------

# A name matches when, lower-cased with `-`, `.`, spaces and camelCase humps read as `_` (leading and
# trailing `_` and a write-only `_wo` suffix dropped), it is one of CREDENTIAL_NAMES, ends with one of
# CREDENTIAL_SUFFIXES or ends with a word of CREDENTIAL_ENDINGS glued to another (`PGPASSWORD`,
# `htpasswd`): `password`, `DB_PASSWORD`, `DB_PASS`, `apiKey`, `client-secret`, `.dockerconfigjson`,
# `spring.datasource.password`, `awsSecretAccessKey`. Deliberately not `*_key` (kms_key_id, object keys)
# nor `*_id`/`*_arn`/`*_name`/`*_ref`/`*_file` (`secret_id`, `secretName`, `secretKeyRef`,
# `DB_PASSWORD_FILE` name a secret or where it is, they do not hold it), nor NOT_CREDENTIAL_PREFIXES
# (`existingSecret` names a Secret, `automountServiceAccountToken` is a switch).
CREDENTIAL_NAMES = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secret_key",
        "secret_access_key",
        "access_key",
        "access_key_id",
        "token",
        "session_token",
        "auth",
        "auth_token",
        "authorization",
        "private_key",
        "private_key_pem",
        "client_secret",
        "api_key",
        "apikey",
        "secret_string",
        "secret_binary",
        "credential",
        "credentials",
        "connection_string",
        "connectionstring",
        "plaintext",
        "pass",
        "secret_key_base",
        "master_key",
        "session_key",
        "signing_key",
        "encryption_key",
        "kubeconfig",
        "dockerconfigjson",
        "dockercfg",
        "pat",
        "creds",
        "dsn",
        "webhook_url",
    }
)
CREDENTIAL_SUFFIXES = (
    "_password",
    "_passwd",
    "_pwd",
    "_passphrase",
    "_secret",
    "_secret_key",
    "_token",
    "_auth",
    "_private_key",
    "_api_key",
    "_apikey",
    "_access_key",
    "_credential",
    "_credentials",
    "_connection_string",
    "_connectionstring",
    "_signing_key",
    "_encryption_key",
    "_pass",
    "_secret_key_base",
    "_master_key",
    "_session_key",
    "_kubeconfig",
    "_pat",
    "_creds",
    "_dsn",
    "_webhook_url",
)
CREDENTIAL_ENDINGS = ("password", "passwd", "passphrase", "pwd")
NOT_CREDENTIAL_PREFIXES = ("existing_", "automount_")
_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[-.\s]+")


def is_credential_name(name: object) -> bool:
    """Does a value held under this name hold a credential (see CREDENTIAL_NAMES)?"""
    return isinstance(name, str) and len(name) <= 200 and credential_key(name)


@functools.lru_cache(maxsize=8192)  # the same few keys recur in every object of a snapshot
def credential_key(name: str) -> bool:
    """``is_credential_name`` for a string known to be short (a mapping's key): cached, for hot loops."""
    normal = _SEPARATORS.sub("_", _HUMP.sub("_", name.strip("\"' -"))).lower().strip("_").removesuffix("_wo")
    if normal.startswith(NOT_CREDENTIAL_PREFIXES):
        return False
    return normal in CREDENTIAL_NAMES or normal.endswith(CREDENTIAL_SUFFIXES + CREDENTIAL_ENDINGS)


# --- values ----------------------------------------------------------------------------------------


def redact_value(value: Any) -> Any:
    """A value that is a secret as a whole: strings and numbers become markers (empty strings stay
    empty), mappings and lists are redacted item by item, booleans and null are kept."""
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return value if not value or is_marker(value) else marker(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return marker(value)
    return value


# --- patterns inside free text ---------------------------------------------------------------------

# A cheap test first: most strings hold none of these and are returned untouched.
_HINT = re.compile(
    r"pass|pwd|secret|token|key|credential|auth|connection|plaintext|kubeconfig|dockercfg|mysql|mariadb"
    r"|://|AKIA|ASIA|AROA|AIDA|PRIVATE"
    r"|gh[pousr]_|github_pat_|xox[abprs]-|sk_live_|eyJ|[ \t]-u[ \t]",
    re.I,
)
_AWS_SECRET_HINT = re.compile(r"[A-Za-z0-9/+]{40}")

_QUOTED = r"""(?P<{q}>["'])(?P<{v}>(?:\\.|(?!(?P={q}))[^\\])*)(?P={q})"""
_KEY = r"""(?<![\w.-])(?:--?)?(?P<kq>["']?)(?P<key>[A-Za-z_][\w.-]*)(?P=kq)"""
# `"password": "x"`, `password = 'x'`, `--password="x"`
_KEY_QUOTED = re.compile(_KEY + r"""[ \t]*(?:=(?!=)|:)[ \t]*""" + _QUOTED.format(q="q", v="val"))
_WORD = r"""(?:\$\{[^}\s]*\}|[^\s"'`;&,<>{}()\[\]])+"""
# `Password=x;`, `export DB_TOKEN=x`, `PGPASSWORD=x psql`, `--password=x`, `?token=x&`: one word
_KEY_EQUALS = re.compile(
    _KEY + r"""[ \t]*=(?!=)[ \t]*(?P<val>(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?""" + _WORD + ")"
)
# `password: correct horse battery`, `Authorization: Bearer x`: the words up to the end of the line (or a
# `,`, `;`, quote or bracket). A colon needs a space after it: `ghcr.io/org/secret:latest`, `token:8080`
# and `auth:v1` are an image, a port and a tag, not a `key: value`.
# A word that is itself a `key:` starts the next pair: `note: see password: x` keeps looking.
_VALUE_WORD = r"""(?!["']?[\w.-]+["']?:(?:\s|\Z))""" + _WORD
_KEY_COLON = re.compile(
    _KEY + r"""[ \t]*:[ \t]+(?P<val>""" + _VALUE_WORD + r"(?:[ \t]+" + _VALUE_WORD + ")*)"
)
# `mysql -pS3cret` (the client's password glued to its `-p` flag): a `-pX` word whose command, in the 200
# characters before it, is a MySQL client.
_DASH_P = re.compile(r"""(?<=[ \t])-p(?P<val>[^\s"'`;&|]+)""")
_MYSQL = re.compile(r"(?<![\w-])(?:mysql|mysqldump|mysqladmin|mariadb)(?![\w-])")
_NOT_SECRETS = frozenset({"true", "false", "null", "~", "yes", "no"})
# `--password x` (a flag, then its value as the next word)
_FLAG_SPACE = re.compile(
    r"""(?<![\w-])--?(?P<key>[A-Za-z_][\w.-]*)[ \t]+(?P<val>[^\s"'`;&,<>-][^\s"'`;&,<>]*)"""
)
# `{"name": "DB_PASSWORD", "value": "x"}` in JSON, jsonencode(...) or a heredoc, either order
_NAME_THEN_VALUE = re.compile(
    r"""(?<![\w-])(?P<nq>["']?)(?:name|key)(?P=nq)\s*[:=]\s*"""
    + _QUOTED.format(q="q1", v="name")
    + r"""\s*,?\s*(?P<vq>["']?)value(?P=vq)\s*[:=]\s*"""
    + _QUOTED.format(q="q2", v="val")
)
_VALUE_THEN_NAME = re.compile(
    r"""(?<![\w-])(?P<vq>["']?)value(?P=vq)\s*[:=]\s*"""
    + _QUOTED.format(q="q2", v="val")
    + r"""\s*,?\s*(?P<nq>["']?)(?:name|key)(?P=nq)\s*[:=]\s*"""
    + _QUOTED.format(q="q1", v="name")
)
# Patterns start only where a word starts (a lookbehind), so a long word is scanned once, not once per
# character: a megabyte of base64 would otherwise take seconds.
_URL_PASSWORD = re.compile(
    r"""(?<![\w+.-])(?P<pre>[A-Za-z][\w+.-]*://[^\s/:@"'<>]*:)(?P<val>[^\s/@"'<>]+)(?=@)"""
)
# A private key's body runs to the next `-----` (its END line, or a truncated key's end of text).
_PEM = re.compile(r"(?P<begin>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?P<val>(?:(?!-----).)+)", re.S)
# Tokens recognisable by their own form, whatever holds them: GitHub, Slack, Stripe, and JWTs.
_TOKEN_VALUE = re.compile(
    r"(?<![\w-])(?P<val>(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|sk_live_[A-Za-z0-9]{16,}|eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,})"
)
# `curl -u user:password`: the password after the user.
_DASH_U = re.compile(r"""(?<=[ \t])-u[ \t]+[^\s:"'`]+:(?P<val>[^\s"'`;&|]+)""")
_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?P<val>(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16})(?![A-Z0-9])")
# A 40-character secret access key standing alone: mixed case and not hex (git commits, digests are hex).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])(?P<val>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")

Mask = Callable[[str], str]


def _mask_literal(text: str) -> str:
    return text if not text or is_marker(text) else marker(text)


def redact_text(text: str, mask: Mask = _mask_literal) -> str:
    """``text`` with every secret written inside it replaced by ``mask(secret)`` (a marker by default;
    the Terraform collector passes one that keeps ``${...}`` references). The rest is left alone."""
    if not text:
        return text
    if mask is _mask_literal:
        return redact_short(text) if len(text) <= SHORT else _redact_long(text)
    return _redact_text(text, mask)


SHORT = 256
# Long strings redacted with markers, by value: a YAML alias repeats one string many times, and each
# copy would otherwise be scanned again (~0.3 s a megabyte). Bounded by the characters it holds.
LONG_CACHE_CHARS = 64 * 1024 * 1024
_long_cache: dict[str, str] = {}
_long_cache_chars = 0
_long_cache_lock = threading.Lock()


def _redact_long(text: str) -> str:
    global _long_cache_chars
    done = _long_cache.get(text)
    if done is not None:
        return done
    done = _redact_text(text, _mask_literal)
    if len(text) <= LONG_CACHE_CHARS // 4:
        with _long_cache_lock:
            if text not in _long_cache:
                _long_cache[text] = done
                _long_cache_chars += len(text)
            while _long_cache_chars > LONG_CACHE_CHARS:  # oldest first
                oldest = next(iter(_long_cache))
                del _long_cache[oldest]
                _long_cache_chars -= len(oldest)
    return done


@functools.lru_cache(maxsize=65536)  # labels, images, names: short strings recur across objects
def redact_short(text: str) -> str:
    """``redact_text`` with markers, for a string of at most ``SHORT`` characters: cached, for hot loops."""
    return _redact_text(text, _mask_literal)


def redact_image(image: str) -> str:
    """A container image reference: kept as it is (``ghcr.io/org/secret:latest`` is a name and a tag,
    and checks read it), except the user information of a URL (``https://user:pass@host/x``)."""
    if "@" not in image:
        return image
    scheme, sep, rest = image.rpartition("://")
    authority = rest.partition("/")[0]
    if "@" not in authority:
        return image  # `repo/app@sha256:...`: a digest
    userinfo = authority.rpartition("@")[0]
    return f"{scheme}{sep}{marker(userinfo)}{rest[len(userinfo) :]}"


def _redact_text(text: str, mask: Mask) -> str:
    hinted = _HINT.search(text) is not None
    if hinted:
        text = _PEM.sub(lambda m: m["begin"] + mask(m["val"]), text)

        def by_key(m: re.Match[str]) -> str:
            if not is_credential_name(m["key"]) or m["val"].lower() in _NOT_SECRETS:
                return m[0]  # a switch (`automountToken: false`) stays a switch
            return _replace(m, "val", mask)

        def by_name(m: re.Match[str]) -> str:
            return _replace(m, "val", mask) if is_credential_name(m["name"]) else m[0]

        text = _KEY_QUOTED.sub(by_key, text)
        text = _KEY_EQUALS.sub(by_key, text)
        text = _KEY_COLON.sub(by_key, text)
        text = _FLAG_SPACE.sub(by_key, text)
        text = _NAME_THEN_VALUE.sub(by_name, text)
        text = _VALUE_THEN_NAME.sub(by_name, text)
        text = _URL_PASSWORD.sub(lambda m: _replace(m, "val", mask), text)
        text = _AWS_KEY_ID.sub(lambda m: _replace(m, "val", mask), text)
        text = _TOKEN_VALUE.sub(lambda m: _replace(m, "val", mask), text)
        text = _DASH_U.sub(lambda m: _replace(m, "val", mask), text)
        if "mysql" in text or "mariadb" in text:
            text = _DASH_P.sub(lambda m: _replace(m, "val", mask) if _after_mysql(m) else m[0], text)
    if len(text) >= 40 and _AWS_SECRET_HINT.search(text):
        text = _AWS_SECRET.sub(lambda m: _replace(m, "val", mask) if _looks_random(m["val"]) else m[0], text)
    return text


def _after_mysql(m: re.Match[str]) -> bool:
    window = m.string[max(0, m.start() - 200) : m.start()]
    command = max(window.rfind(c) for c in "\n;&|") + 1  # where this command starts
    return ("mysql" in window or "mariadb" in window) and _MYSQL.search(window, command) is not None


def _looks_random(word: str) -> bool:
    has = [any(c.islower() for c in word), any(c.isupper() for c in word), any(c.isdigit() for c in word)]
    return all(has) and not re.fullmatch(r"[0-9a-fA-F]+", word)


def _replace(m: re.Match[str], group: str, mask: Mask) -> str:
    value = m[group]
    if not value or is_marker(value) or (value.startswith("<redacted") and value.endswith(">")):
        return m[0]
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    whole = m[0]
    return whole[:start] + mask(value) + whole[end:]


def redact_url(url: str) -> str:
    """A URL for messages and reports: its user information (``user:pass@``) replaced by a marker."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return redact_text(url)
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        authority = f"{marker(userinfo)}@{host}"
    return redact_text(f"{scheme}://{authority}{slash}{path}")

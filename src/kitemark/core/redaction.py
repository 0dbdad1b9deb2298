"""Kitemark's one redaction policy: which values are secrets, and what replaces them.

Every collector applies it as values are read, so no secret reaches an inventory, a report, a log
or an error message. Two rules decide what is a secret:

- *names* (``kitemark.core.credential_names``): a value held under a credential-like key, attribute or
  variable name (``password``, ``DB_PASSWORD``, ``PGPASSWORD``, ``REDIS_PASS``, ``apiToken``,
  ``awsSecretAccessKey``, ``client-secret``, ``connection_string``, ``.dockerconfigjson``...), but not one
  that only names a secret (``secretName``, ``existingSecret``, ``tlsSecret``, an ingress controller's
  ``auth-secret`` annotation, an ExternalSecret's ``secretKey``);
- *patterns inside free text* (``kitemark.core.secret_forms``, ``redact_text``): ``--password=x``,
  ``password: x`` (not prose), ``Password=x;``, YAML block scalars under a credential key, INI and
  properties lines, passwords on command lines (``kitemark.core.command_lines``), URL passwords, private
  keys and tokens known by their form.

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
import secrets
import threading
from collections.abc import Callable
from typing import Any

from kitemark.core.credential_names import credential_key, is_credential_name
from kitemark.core.secret_forms import MARKER, is_marker, scan

__all__ = [
    "KEY_VARIABLE", "MARKER", "SHORT", "configured_key", "credential_key", "is_credential_name", "is_marker",
    "marker", "redact_image", "redact_short", "redact_text", "redact_url", "redact_value",
]  # fmt: skip

KEY_VARIABLE = "KITEMARK_REDACTION_KEY"
_key: bytes | None = None

def configured_key() -> str | None:
    """The key ``KITEMARK_REDACTION_KEY`` sets (shards of one run, runs to compare), if any."""
    return os.environ.get(KEY_VARIABLE) or None


def _run_key() -> bytes:
    global _key
    if _key is None:
        configured = configured_key()
        _key = configured.encode() if configured else secrets.token_bytes(32)
    return _key


_keyed: tuple[bytes, hmac.HMAC] | None = None


def marker(value: object) -> str:
    """The marker that stands for ``value`` in every output of this run."""
    global _keyed
    text = value if isinstance(value, str) else repr(value)
    key = _run_key()
    if _keyed is None or _keyed[0] is not key:  # keyed once: copying is 3x cheaper than keying
        _keyed = (key, hmac.new(key, digestmod=hashlib.sha256))
    digest = _keyed[1].copy()
    digest.update(text.encode("utf-8", "surrogatepass"))
    return f"<redacted hmac:{digest.hexdigest()[:8]}>"


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
    return scan(text, mask)


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
    done = scan(text, _mask_literal)
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
    return scan(text, _mask_literal)


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

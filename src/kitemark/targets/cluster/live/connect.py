"""Where a live cluster is and how to authenticate to it, by the official ``kubernetes`` client's
configuration loaders: a kubeconfig context (client certificates, tokens, ``exec`` plugins such as
``aws eks get-token``, whose token the client refreshes), or the pod's own service account.

``live:`` with no context means the kubeconfig's current context; with no kubeconfig at all, inside a
pod, the pod's service account. What is wrong with a kubeconfig is one ``UsageError`` line, before
anything is collected."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.core.redaction import redact_text
from kitemark.core.yamlfile import load_config_file

IN_CLUSTER = "in-cluster"  # the context name a service-account connection reports
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
ACCEPT = "application/json"
MAX_ANSWER = 256 << 20  # bytes of one answer, decompressed
CALL_TIMEOUTS = 5  # one answer may take this many read timeouts in all


@dataclass(frozen=True)
class Target:
    """A live cluster as the user named it: ``context`` ("" for the current one), ``kubeconfig``
    (``None``: ``$KUBECONFIG`` or ``~/.kube/config``)."""

    context: str
    kubeconfig: str | None


def kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    value = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return [str(Path(p).expanduser()) for p in value.split(os.pathsep) if p]


def in_pod(target: Target) -> bool:
    """Whether to use the pod's service account: ``live:in-cluster`` (unless a kubeconfig has a
    context of that name), or ``live:`` with no kubeconfig anywhere, inside a pod."""
    if target.context == IN_CLUSTER:
        return not _has_context(target)
    if target.context or target.kubeconfig or os.environ.get("KUBECONFIG"):
        return False
    return "KUBERNETES_SERVICE_HOST" in os.environ and not any(
        Path(p).exists() for p in kubeconfig_paths(None)
    )


def _has_context(target: Target) -> bool:
    try:
        return target.context in _contexts(target)[0]
    except UsageError:
        return False


def resolve(target: Target) -> str:
    """The context the target will use (the current one when none is named), or ``in-cluster``; a
    kubeconfig that cannot be read or lacks the context is a ``UsageError``."""
    if in_pod(target):
        if "KUBERNETES_SERVICE_HOST" not in os.environ:
            raise UsageError("live:in-cluster: not running in a pod (KUBERNETES_SERVICE_HOST is not set)")
        return IN_CLUSTER
    names, current = _contexts(target)
    wanted = target.context or current
    if not wanted:
        raise UsageError(f"{_where(target)}: no current-context; name one with live:CONTEXT")
    if wanted not in names:
        known = ", ".join(sorted(names)[:10]) or "none"
        raise UsageError(f"{_where(target)}: no context {wanted!r} (contexts: {known})")
    return wanted


def _where(target: Target) -> str:
    return "kubeconfig " + os.pathsep.join(kubeconfig_paths(target.kubeconfig))


def _contexts(target: Target) -> tuple[list[str], str]:
    """The context names of the kubeconfig files, and the current context (the first file's that
    sets one, as kubectl merges them). Read with Kitemark's own YAML loader, not the client's: its
    errors name the file and line and never quote the text (a kubeconfig holds tokens), a repeated
    key is refused, and a context named on the command line needs no ``current-context``."""
    paths = kubeconfig_paths(target.kubeconfig)
    existing = [p for p in paths if Path(p).is_file()]
    if not existing:
        raise UsageError(f"{_where(target)}: no such file (give --kubeconfig PATH, or set KUBECONFIG)")
    names: list[str] = []
    current = ""
    for path in existing:
        config = load_config_file(Path(path), "kubeconfig")
        if config is None:
            raise UsageError(f"kubeconfig {path}: the file is empty")
        contexts = config.get("contexts") if isinstance(config, dict) else None
        if not isinstance(config, dict) or not isinstance(contexts, list | None):
            raise UsageError(f"kubeconfig {path}: not a kubeconfig (no list of contexts)")
        names += [c["name"] for c in contexts or [] if isinstance(c, dict) and isinstance(c.get("name"), str)]
        chosen = config.get("current-context")
        current = current or (chosen if isinstance(chosen, str) else "")
    return names, current


class Connection:
    """An authenticated client for one cluster; ``transport`` is what ``api.ApiReader`` calls."""

    def __init__(self, target: Target, context: str) -> None:
        from kubernetes import client, config

        self.context = context
        self._client_said = _ClientLog()
        logging.getLogger().addFilter(self._client_said)
        configuration = client.Configuration()
        try:
            if context == IN_CLUSTER and in_pod(target):
                loader = config.incluster_config.InClusterConfigLoader(
                    str(SERVICE_ACCOUNT / "token"), str(SERVICE_ACCOUNT / "ca.crt")
                )
                loader.load_and_set(configuration)
            else:
                existing = [p for p in kubeconfig_paths(target.kubeconfig) if Path(p).is_file()]
                config.load_kube_config(
                    config_file=os.pathsep.join(existing),
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except UsageError:
            raise
        except Exception as exc:  # the loaders raise ConfigException, OSError, ValueError, exec failures …
            where = f"{_where(target)}: " if context != IN_CLUSTER else ""
            raise UsageError(
                f"{where}context {context!r}: cannot set up credentials: {_one_line(exc)}"
            ) from None
        if self._client_said.messages:  # an exec plugin that failed: no request may go out anonymous
            logging.getLogger().removeFilter(self._client_said)
            raise UsageError(
                f"{_where(target)}: context {context!r}: the credentials failed: "
                f"{self._client_said.messages[-1]}"
            )
        configuration.retries = False  # every retry is ApiReader's, counted and bounded
        self.server = str(configuration.host)
        self._client = client.ApiClient(configuration)
        self._exception = client.ApiException

    def transport(
        self, path: str, query: Sequence[tuple[str, str]], timeout: tuple[float, float]
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            response: Any = self._client.call_api(
                path,
                "GET",
                query_params=list(query),
                header_params={"Accept": ACCEPT},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=timeout,
            )
        except self._exception as exc:
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            body = exc.body if isinstance(exc.body, bytes) else str(exc.body or "").encode()
            return int(exc.status or 0), headers, body
        headers = {k.lower(): v for k, v in response.headers.items()}
        return int(response.status), headers, _bounded_body(response, path, timeout[1] * CALL_TIMEOUTS)

    def credential_problem(self) -> str:
        """What the client logged about the credentials (an ``exec`` plugin that failed), redacted, as
        a clause for an error message; "" when it said nothing."""
        said = self._client_said.messages
        return f" (the kubeconfig's credentials failed: {said[-1]})" if said else ""  # what, not its text

    def close(self) -> None:
        self._client.close()
        logging.getLogger().removeFilter(self._client_said)


class _ClientLog(logging.Filter):
    """Keeps the ``kubernetes`` client's own log records (it logs an ``exec`` plugin's stderr, which
    may hold a secret, on the root logger) off every output: each is kept, redacted, for the error
    message of the read it spoiled."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if f"{os.sep}kubernetes{os.sep}" not in record.pathname:
            return True
        # Only what failed, never the text: an exec plugin's stderr may hold a token in any form.
        where = "exec credential plugin" if "exec" in record.pathname.rsplit(os.sep, 1)[-1] else "client"
        self.messages.append(f"the {where} reported an error (its text is not shown)")
        return False


def _bounded_body(response: Any, path: str, seconds: float) -> bytes:
    """The answer's body, decompressed, refused past ``MAX_ANSWER`` bytes (a page of 500 objects is a few
    MB; a gzip bomb is not) or ``seconds`` in all (the read timeout is per socket read: a server sending
    a byte at a time would hold it for ever)."""
    from kitemark.targets.cluster.live.api import ApiFailure

    deadline = time.monotonic() + seconds
    chunks, size = [], 0
    # read1: what one socket read gives (a trickling server cannot make a chunk wait for a megabyte).
    while chunk := response.read1(1 << 20, decode_content=True):
        size += len(chunk)
        if size > MAX_ANSWER:
            response.close()
            raise ApiFailure(path, 200, f"the answer is larger than {MAX_ANSWER >> 20} MB (the limit)")
        if time.monotonic() > deadline:
            response.close()
            raise TimeoutError(f"the answer took longer than {seconds:.0f} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _one_line(exc: BaseException) -> str:
    """The loader's message, redacted: an ``exec`` plugin's output may hold a token."""
    return redact_text(" ".join(str(exc).split()))[:300] or type(exc).__name__

"""One GET against the API server: raw JSON (no typed models: far faster), with retries.

A request is retried on 429 (after its ``Retry-After``, capped), on 500/502/503/504 and on a timeout
or a dropped connection, with exponential backoff; anything else fails at once with an ``ApiFailure``
that reads alone: the call, the status and the server's own message."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3

from kitemark.core.redaction import redact_text

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call is tried. The defaults ride out an API server's rolling restart (~30 s)."""

    attempts: int = 6
    backoff: float = 0.5  # seconds before the 2nd attempt; doubles each time
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is cut to this
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after is not None:
            try:
                seconds = float(retry_after)
                if math.isfinite(seconds):  # `nan` and `inf` are floats too
                    return min(max(seconds, 0.0), self.max_retry_after)
            except ValueError:
                pass  # an HTTP date: rare from an API server; back off as usual
        base = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return base * (0.5 + random.random() / 2)  # jitter: concurrent lists do not retry in step


class ApiFailure(Exception):
    """A call that did not succeed after its retries: ``status`` 0 when no HTTP answer came."""

    def __init__(self, path: str, status: int, message: str, attempts: int = 1) -> None:
        self.path, self.status, self.message, self.attempts = path, status, message, attempts
        super().__init__(f"GET {path}: {self.reason}")

    @property
    def reason(self) -> str:
        """What went wrong, without the call (for a message that names the call already)."""
        return self.message + (f" (after {self.attempts} attempts)" if self.attempts > 1 else "")


# (path, query) → (status, headers, body); the kubernetes client's, or a test's.
Transport = Callable[[str, Sequence[tuple[str, str]], tuple[float, float]], tuple[int, dict[str, str], bytes]]


class ApiReader:
    """GETs through ``transport`` with ``policy``; counts requests and retries (for the inventory)."""

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport, self.policy, self.sleep = transport, policy or RetryPolicy(), sleep
        self.requests = 0
        self.retries = 0
        self._count = threading.Lock()  # lists of several types share one reader

    def get(self, path: str, query: Sequence[tuple[str, str]] = ()) -> Any:
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            with self._count:
                self.requests += 1
            last = attempt == policy.attempts
            try:
                status, headers, body = self.transport(
                    path, query, (policy.connect_timeout, policy.read_timeout)
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if last:
                    raise ApiFailure(path, 0, f"no answer: {_reason(exc)}", attempt) from None
                self._wait(policy.delay(attempt))
                continue
            if status == 200:
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    raise ApiFailure(path, status, f"the answer is not JSON: {exc}") from None
            if status in RETRIED_STATUSES and not last:
                self._wait(policy.delay(attempt, headers.get("retry-after") if status == 429 else None))
                continue
            raise ApiFailure(path, status, describe(status, body), attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _wait(self, seconds: float) -> None:
        with self._count:
            self.retries += 1
        self.sleep(seconds)


def describe(status: int, body: bytes) -> str:
    """``403 Forbidden: <the server's message>``, one line, at most 300 characters. The message is
    free text from the server (or a proxy, or a webhook it called): it is redacted like any other."""
    message = ""
    try:
        data = orjson.loads(body)
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            message = data["message"]
    except orjson.JSONDecodeError:
        # Not the API's own Status: a proxy's or a webhook's page, whose text may be anything.
        message = f"an answer that is not JSON ({len(body)} bytes; its text is not shown)" if body else ""
    reason = _REASONS.get(status, "error")
    # A real server's 401 says only "Unauthorized": do not say it twice.
    text = f"{status} {reason}" + (f": {message}" if message and message != reason else "")
    return redact_text(" ".join(text.split()))[:300]


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return redact_text(" ".join(str(reason).split()))[:300] or type(exc).__name__


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

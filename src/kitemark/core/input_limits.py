"""Bounds on what one input file may cost to read, so hostile or broken input becomes a one-line input
error in well under a second instead of minutes of work, gigabytes of memory or a traceback.

- ``MAX_FILE_MB``: a larger file is refused unread. Set well above a 1,500-namespace ``kubectl get -o
  json`` dump (~120 MB), the largest real input Kitemark is sized for.
- ``MAX_HCL_MB``: the same for one Terraform file. python-hcl2 parses ~0.1 MB a second, so a
  larger file would cost minutes; real modules' files are kilobytes.
- ``MAX_PARSE_SECONDS``: the wall clock one file's parse may take (a 26 MB YAML file took 66 s). Enforced
  with SIGALRM, so only where the reader runs in the main thread (the controller's collection);
  elsewhere the size limits alone bound it.
- ``MAX_DEPTH``: containers nested deeper are refused. Kubernetes objects, CRD schemas, Terraform and
  Kitemark's own files stay far below it; every recursive reader downstream (and orjson's writer, which
  stops at 255 levels) stays far above it.
- ``MAX_ALIAS_NODES``: the nodes a YAML document may gain by expanding its aliases ("billion laughs":
  1 KB of nested aliases that expands to a billion values). An alias to a scalar counts as a node.
- ``MAX_ALIAS_TEXT``: the characters of scalar text a YAML document may gain by expanding its aliases
  (one 100 KB string aliased 20,000 times adds few nodes but 2 GB of text). A certificate or a script
  shared by a few dozen entries stays far below it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MAX_FILE_MB = 256
MAX_HCL_MB = 2
MAX_PARSE_SECONDS = 60.0
MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
MAX_ALIAS_TEXT = 1_000_000


class LimitExceeded(ValueError):
    """An input over one of the limits above; the message is one line and quotes nothing from the file."""


def too_large(limit_mb: int | None = None) -> LimitExceeded:
    return LimitExceeded(f"file is larger than the {limit_mb or MAX_FILE_MB} MB limit; not read")


def too_deep() -> LimitExceeded:
    return LimitExceeded(f"nested more than {MAX_DEPTH} levels deep (the limit); not read")


def read_bytes(path: Path, limit_mb: int | None = None) -> bytes:
    """A file's bytes, refused (``LimitExceeded``) past ``limit_mb`` without reading it all.

    Reads at most one byte past the limit, so a file that grows while read, or a special file reporting
    no size, cannot make Kitemark read more. ``OSError`` passes through."""
    limit_mb = limit_mb or MAX_FILE_MB  # read when called: tests lower the module's limits
    limit = limit_mb * 2**20
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit_mb)
    return data


def read_text(path: Path, limit_mb: int | None = None) -> str:
    """``read_bytes`` as UTF-8 text; ``UnicodeDecodeError`` passes through."""
    return read_bytes(path, limit_mb).decode("utf-8")


def check_size(text: str | bytes) -> None:
    """Refuse a text over the size limit (for readers handed text rather than a path)."""
    if len(text) > MAX_FILE_MB * 2**20:
        raise too_large()


def check_depth(value: Any) -> None:
    """Refuse a parsed value (dicts and lists/tuples) nested deeper than ``MAX_DEPTH``. Iterative, so a
    value of any depth is measured without recursion."""
    level = [value]
    depth = 0
    while level:
        containers = [v for v in level if isinstance(v, dict | list | tuple)]
        if not containers:
            return
        depth += 1
        if depth > MAX_DEPTH:
            raise too_deep()
        level = [child for v in containers for child in (v.values() if isinstance(v, dict) else v)]


@contextmanager
def parse_deadline() -> Iterator[None]:
    """Raise ``LimitExceeded`` inside the parse once it has run ``MAX_PARSE_SECONDS``. A no-op off the
    main thread, where signals cannot be delivered, or when a timer is already set (a nested parse, or
    a caller of our own timing something larger)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return
    limit = MAX_PARSE_SECONDS

    def expired(signum: int, frame: Any) -> None:
        raise _Expired  # not an Exception: parsers that catch those (lark does) cannot swallow it

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    except _Expired:
        raise LimitExceeded(f"parsing took longer than {limit:g} s (the limit); not read") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Expired(BaseException):
    """The parse deadline, on its way out of the parser."""

"""Bounds on what one input file may cost to read, so hostile or broken input becomes a one-line input
error in well under a second instead of minutes of work, gigabytes of memory or a traceback.

- ``MAX_FILE_MB``: a larger file is refused unread. Set well above a 1,500-namespace ``kubectl get -o
  json`` dump (~120 MB), the largest real input Kitemark is sized for.
- ``MAX_HCL_MB``: the same for one Terraform file. python-hcl2 parses ~0.1 MB a second, so a
  larger file would cost minutes; real modules' files are kilobytes.
- ``MAX_PARSE_SECONDS``: the wall clock one file's parse may take (a 26 MB YAML file took 66 s). Enforced
  with SIGALRM in the main thread (where every collector runs: the controller's collection). Off it no
  signal can interrupt the parse: the YAML reader checks the deadline between documents, and a parse
  that ran past it is refused when it returns (late, but with the same verdict).
- ``MAX_DEPTH``: containers nested deeper are refused. Kubernetes objects, CRD schemas, Terraform and
  Kitemark's own files stay far below it; every recursive reader downstream (and orjson's writer, which
  stops at 255 levels) stays far above it.
- ``MAX_ALIAS_NODES``: the nodes a YAML document may gain by expanding its aliases ("billion laughs":
  1 KB of nested aliases that expands to a billion values). An alias to a scalar counts as a node.
- ``MAX_ALIAS_TEXT``: the characters of scalar text a YAML document may gain by expanding its aliases
  (one 100 KB string aliased 20,000 times adds few nodes but 2 GB of text). A certificate or a script
  shared by a few dozen entries stays far below it.

The same costs are bounded for a whole target (``TargetBudget``; ``collect_all`` opens one per target
with ``target_budget``), so that many files each just under a limit cannot add up to gigabytes or hours:

- ``MAX_TARGET_MB``: bytes read from the target's files, in all (a 1,500-namespace dump is ~120 MB).
- ``MAX_TARGET_PARSE_SECONDS``: the wall clock of all its parses (a 1,500-namespace cluster written as
  YAML, ~50 MB, parses in ~50 s; as JSON in ~2 s).
- ``MAX_TARGET_ALIAS_NODES``, ``MAX_TARGET_ALIAS_TEXT``: what YAML aliases may add in all its files, ten
  times the limits of one file.

The file that crosses a budget, and every later file of the target, is refused (``LimitExceeded``: an
input error naming the budget); files already read are kept.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

MAX_FILE_MB = 256
MAX_HCL_MB = 2
MAX_PARSE_SECONDS = 60.0
MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
MAX_ALIAS_TEXT = 1_000_000
MAX_TARGET_MB = 1024
MAX_TARGET_PARSE_SECONDS = 300.0
MAX_TARGET_ALIAS_NODES = 10 * MAX_ALIAS_NODES
MAX_TARGET_ALIAS_TEXT = 10 * MAX_ALIAS_TEXT


class LimitExceeded(ValueError):
    """An input over one of the limits above; the message is one line and quotes nothing from the file."""


def too_large(limit_mb: int | None = None) -> LimitExceeded:
    return LimitExceeded(f"file is larger than the {limit_mb or MAX_FILE_MB} MB limit; not read")


def too_deep() -> LimitExceeded:
    return LimitExceeded(f"nested more than {MAX_DEPTH} levels deep (the limit); not read")


def read_bytes(path: Path, limit_mb: int | None = None) -> bytes:
    """A file's bytes, refused (``LimitExceeded``) past ``limit_mb`` without reading it all.

    Reads at most one byte past the limit, so a file that grows while read, or a special file reporting
    no size, cannot make Kitemark read more. Under a target's budget, refused unopened once the budget is
    spent, and read no further than what is left of it. ``OSError`` passes through."""
    limit_mb = limit_mb or MAX_FILE_MB  # read when called: tests lower the module's limits
    limit = limit_mb * 2**20
    budget = _BUDGET[0]
    if budget is None:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    else:
        budget.refuse()
        with path.open("rb") as stream:
            data = stream.read(min(limit, budget.bytes_left()) + 1)
        budget.charge_bytes(len(data))
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
    """Raise ``LimitExceeded`` inside the parse once it has run ``MAX_PARSE_SECONDS``, or what is left of
    the target's parse budget if less; its wall clock is charged to that budget. In the main thread a
    SIGALRM timer interrupts the parser (unless a timer is already set: a caller of our own timing
    something larger). Off it, ``check_deadline`` (called by the YAML reader between documents) and a
    check when the parse returns refuse it. A nested parse runs under the outer one's deadline."""
    if _DEADLINE.get() is not None:
        yield
        return
    budget = _BUDGET[0]
    limit, why = MAX_PARSE_SECONDS, f"parsing took longer than {MAX_PARSE_SECONDS:g} s (the limit); not read"
    if budget is not None:
        budget.refuse()
        if budget.seconds_left() < limit:
            limit, why = budget.seconds_left(), budget.message("seconds")
    started = time.monotonic()
    token = _DEADLINE.set((started + limit, why))
    try:
        with _alarm(limit):
            yield
    except _Expired:
        raise LimitExceeded(why) from None
    finally:
        _DEADLINE.reset(token)
        elapsed = time.monotonic() - started
        if budget is not None:
            budget.charge_seconds(elapsed)
    if elapsed > limit:  # no signal could stop it (off the main thread): refused now it has returned
        raise LimitExceeded(why)


def check_deadline() -> None:
    """Raise ``LimitExceeded`` if the current parse has run past its deadline (see ``parse_deadline``):
    for readers that can check between steps, where no signal can interrupt them."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current[0]:
        raise LimitExceeded(current[1])


# (deadline on time.monotonic, the message) of the parse running in this thread, if any
_DEADLINE: ContextVar[tuple[float, str] | None] = ContextVar("kitemark_parse_deadline", default=None)


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise ``_Expired`` after ``seconds``; a no-op off the main thread, where signals cannot be
    delivered, or when a timer is already set."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise _Expired  # not an Exception: parsers that catch those (lark does) cannot swallow it

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))  # 0 would mean "no timer"
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Expired(BaseException):
    """The parse deadline, on its way out of the parser."""


class TargetBudget:
    """What one target's files have cost so far, against the ``MAX_TARGET_*`` limits (read when charged:
    tests lower them). Once one is exceeded, ``spent`` is the input error of every later file. Charged
    from any thread (a lock), so a collector that reads in threads stays within its target's budget."""

    def __init__(self) -> None:
        self.bytes_read = 0
        self.parse_seconds = 0.0
        self.alias_nodes = 0
        self.alias_text = 0
        self.spent: str | None = None
        self._lock = threading.Lock()

    @staticmethod
    def message(what: str) -> str:
        amount = {
            "bytes": f"{MAX_TARGET_MB:,} MB read",
            "seconds": f"{MAX_TARGET_PARSE_SECONDS:g} s of parsing",
            "nodes": f"{MAX_TARGET_ALIAS_NODES:,} nodes added by YAML aliases",
            "text": f"{MAX_TARGET_ALIAS_TEXT:,} characters repeated by YAML aliases",
        }[what]
        return f"target budget of {amount} exceeded: not read"

    def refuse(self) -> None:
        """Raise the budget's input error once it has been exceeded."""
        if self.spent is not None:
            raise LimitExceeded(self.spent)

    def _exceeded(self, what: str) -> LimitExceeded:
        self.spent = self.spent or self.message(what)
        return LimitExceeded(self.message(what))

    def bytes_left(self) -> int:
        return max(MAX_TARGET_MB * 2**20 - self.bytes_read, 0)

    def seconds_left(self) -> float:
        return max(MAX_TARGET_PARSE_SECONDS - self.parse_seconds, 0.0)

    def charge_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_read += count
            if self.bytes_read > MAX_TARGET_MB * 2**20:
                raise self._exceeded("bytes")

    def charge_seconds(self, seconds: float) -> None:
        """Record a parse's wall clock; the parse itself is refused by its deadline (``parse_deadline``)."""
        with self._lock:
            self.parse_seconds += seconds
            if self.parse_seconds > MAX_TARGET_PARSE_SECONDS:
                self.spent = self.spent or self.message("seconds")

    def charge_aliases(self, nodes: int, text: int) -> None:
        with self._lock:
            self.alias_nodes += nodes
            self.alias_text += text
            if self.alias_nodes > MAX_TARGET_ALIAS_NODES:
                raise self._exceeded("nodes")
            if self.alias_text > MAX_TARGET_ALIAS_TEXT:
                raise self._exceeded("text")


# The budget of the target being collected. One slot for the process, not a context variable: a thread
# a collector starts would not inherit a context variable, and would read past the budget unseen.
_BUDGET: list[TargetBudget | None] = [None]


@contextmanager
def target_budget() -> Iterator[TargetBudget]:
    """A new budget for one target's collection: every file read until the block ends is charged to it."""
    budget = TargetBudget()
    previous, _BUDGET[0] = _BUDGET[0], budget
    try:
        yield budget
    finally:
        _BUDGET[0] = previous


def current_budget() -> TargetBudget | None:
    return _BUDGET[0]

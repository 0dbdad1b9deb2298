"""The Rego evaluator process: every regorus call (parse, load, evaluate) runs in a child process, so
that an evaluation can be bounded. regorus is native code that holds the interpreter until it returns: a
six-line comprehension ran for minutes at 12 GB, deaf to Ctrl-C. In a child it has

- a wall-clock limit per call (``timeout``, ``--rego-timeout``), enforced here: the child is killed;
- an address-space limit (``RLIMIT_AS``, ``--rego-memory``), set by the child on itself before it loads
  regorus: an allocation past it aborts the child;
- no say over Ctrl-C: the child ignores SIGINT and this side kills it at once, so ``KeyboardInterrupt``
  reaches pytest while regorus is still busy;
- a total wall clock for the run (``budget``, ``--rego-budget``), kept per process (``RegoBudget``): the
  controller's collection and each pytest-xdist worker have their own; ``-n 0`` has one for everything.
  A call that runs past what is left of it is killed, and every later call is refused unsent.

A call over a limit, or one that ends the child, raises ``EvaluatorStopped`` with a one-line reason; the
next call starts a new child. One child per process and memory limit serves every call (starting one
costs ~0.1 s, a call ~0.1 ms), so pytest-xdist workers each have their own. The child keeps built
engines by a key the caller gives (``kitemark.engines.rego``), so each request carries the policies
only when the child does not have them yet.

Protocol (``kitemark.engines.rego_child``): JSON messages, each an 8-byte big-endian length and the
bytes, requests on the child's stdin, replies on its stdout; its stderr goes to a temporary file that is
read only to tell why a child died.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

DEFAULT_TIMEOUT = 30.0  # seconds, per call
DEFAULT_MEMORY_MIB = 2048  # address space of the child
DEFAULT_BUDGET = 900.0  # seconds, all calls of one process in one run together; 0: none
STARTUP_TIMEOUT = 120.0  # seconds for a new child to load Python and regorus (not part of any call's limit)
_HEADER = struct.Struct(">Q")
# What the child prints when an allocation fails: Rust's abort message, or Python's MemoryError.
_OUT_OF_MEMORY = (b"memory allocation of", b"MemoryError", b"Cannot allocate memory")


class EvaluatorStopped(Exception):
    """A call ran over a limit or ended the child; the message says which, in one line."""


class _Timeout(Exception):
    pass


class RegoBudget:
    """The wall clock this process's Rego calls have spent in this run. Calls are serialised by their
    evaluator's lock; one process may have one evaluator per memory limit, hence a lock of its own."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._lock = threading.Lock()

    def reset(self) -> None:
        """A new run in this process (a test suite may run several)."""
        with self._lock:
            self.spent = 0.0

    def left(self, budget: float) -> float:
        return max(budget - self.spent, 0.0)

    def charge(self, seconds: float) -> None:
        with self._lock:
            self.spent += seconds


BUDGET = RegoBudget()


class _Died(Exception):
    pass


def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_exact(fd: int, n: int, deadline: float | None = None) -> bytes | None:
    """``n`` bytes from ``fd``, or None at end of file. With a ``deadline`` (``time.monotonic``), raise
    ``_Timeout`` when it passes first."""
    chunks: list[bytes] = []
    got = 0
    while got < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise _Timeout
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd: int, deadline: float | None = None) -> bytes | None:
    header = read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    return read_exact(fd, _HEADER.unpack(header)[0], deadline)


class Evaluator:
    """One child process (started on first use, restarted after a failure) and its limits."""

    def __init__(self, memory_mib: int = DEFAULT_MEMORY_MIB) -> None:
        self.memory_mib = memory_mib
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.started = 0  # children started so far (a restart after each failure)

    def call(self, request: dict[str, Any], timeout: float, what: str, budget: float = 0.0) -> dict[str, Any]:
        """The child's reply to ``request``. ``what`` names the call in errors ("evaluating data.p.x");
        ``budget`` is the run's total in seconds (``BUDGET``; 0: none)."""
        payload = frame(json.dumps(request).encode())
        with self._lock:
            if budget and BUDGET.left(budget) <= 0:
                raise EvaluatorStopped(
                    f"{what} not run: Rego budget of {budget:g} s for this run spent (--rego-budget)"
                )
            try:
                return self._call(payload, timeout, what, budget)
            except BaseException:
                # Ctrl-C (KeyboardInterrupt), or anything else that leaves a call half done: the child
                # may be deep in regorus, and waiting for it is what made Ctrl-C do nothing.
                self.stop()
                raise

    def _call(self, payload: bytes, timeout: float, what: str, budget: float) -> dict[str, Any]:
        proc = self._running()  # starting a child counts against neither limit
        assert proc.stdin is not None and proc.stdout is not None
        limit = min(timeout, BUDGET.left(budget)) if budget else timeout
        started = time.monotonic()
        try:
            write_all(proc.stdin.fileno(), payload)
            reply = read_message(proc.stdout.fileno(), started + limit)
            if reply is None:
                raise _Died
        except _Timeout:
            self.stop()
            if limit < timeout:
                raise EvaluatorStopped(
                    f"{what} ran past the Rego budget of {budget:g} s for this run (--rego-budget)"
                ) from None
            raise EvaluatorStopped(
                f"{what} ran over the Rego time limit of {timeout:g} s (--rego-timeout)"
            ) from None
        except (_Died, BrokenPipeError):
            reason = self._why_it_died()
            self.stop()
            raise EvaluatorStopped(f"{what} stopped the Rego evaluator: {reason}") from None
        finally:
            BUDGET.charge(time.monotonic() - started)
        message: dict[str, Any] = json.loads(reply)
        if "limit" in message:  # the child caught it itself (MemoryError, a reply too large to send)
            self.stop()
            raise EvaluatorStopped(f"{what}: {self._limit_text(message['limit'])}")
        return message

    def _limit_text(self, limit: str) -> str:
        if limit == "memory":
            return f"went over the Rego memory limit of {self.memory_mib} MiB (--rego-memory)"
        return str(limit)

    def _why_it_died(self) -> str:
        code = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # closed its pipe but lives on: killed next
                code = self._proc.wait(timeout=5)
        tail = b""
        if self._stderr is not None:
            self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, self._stderr.tell() - 4096))
            tail = self._stderr.read()
        if any(sign in tail for sign in _OUT_OF_MEMORY):
            return self._limit_text("memory")
        if code is not None and code < 0:
            return f"it was ended by {signal.Signals(-code).name}"
        return f"it exited with status {code}"

    def _running(self) -> subprocess.Popen[bytes]:
        if self._pid != os.getpid():  # a forked copy of this object: the child belongs to the parent
            self._proc, self._stderr, self._pid = None, None, os.getpid()
        if self._proc is None or self._proc.poll() is not None:
            self.stop()
            self._start()
        assert self._proc is not None
        return self._proc

    def _start(self) -> None:
        # The child must import this same Kitemark, wherever it was imported from.
        source = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
        # Kept open for the child's life (closed in stop()), read only if the child dies.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "kitemark.engines.rego_child", str(self.memory_mib)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            bufsize=0,
            close_fds=True,
        )
        self.started += 1
        # Wait for the child to be ready (Python and regorus loaded), so that starting it, slow on a busy
        # machine, never counts against the time limit of the call it serves.
        assert self._proc.stdout is not None
        try:
            ready = read_message(self._proc.stdout.fileno(), time.monotonic() + STARTUP_TIMEOUT)
        except _Timeout:
            ready = None
        if ready is None:
            reason = self._why_it_died() if self._proc.poll() is not None else "it did not answer"
            self.stop()
            raise EvaluatorStopped(f"the Rego evaluator could not start: {reason}")

    def stop(self) -> None:
        """Kill the child (if any) without waiting for it to finish what it is doing."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


_EVALUATORS: dict[int, Evaluator] = {}


def evaluator(memory_mib: int = DEFAULT_MEMORY_MIB) -> Evaluator:
    """This process's evaluator for a memory limit (one child each, reused by every call)."""
    found = _EVALUATORS.get(memory_mib)
    if found is None:
        found = _EVALUATORS[memory_mib] = Evaluator(memory_mib)
    return found


@atexit.register
def _stop_all() -> None:
    for found in _EVALUATORS.values():
        found.stop()

"""The Rego evaluator child (``python -m kitemark.engines.rego_child MEMORY_MIB``), started by
``kitemark.engines.rego_process``: it limits its own address space, then answers requests with the
in-process engine (``LocalRegorusEngine``) until its stdin closes.

Requests (JSON):

- ``{"op": "parse", "path", "source", "version"}`` → ``{"module": RegoModule as a dict}``
- ``{"op": "eval", "key", "query", ["input"], "overlay": [op...], ["base": [op...]]}`` →
  ``{"results": [...], "prints": [...]}``, or ``{"miss": true}`` when no engine is kept under ``key`` and
  the request has no ``base`` to build it from. An op is ``["policy", path, source, version]`` or
  ``["data", document]``; ``overlay`` ops apply to a copy for this request only.

The child first sends ``{"ready": true}`` once it has loaded regorus. Any request may get
``{"error": {"syntax": bool, "message", "path", "line", "col"}}`` (a ``RegoError``)
or ``{"limit": "memory"}`` (after which the child exits).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import resource
import signal
import sys
from collections import OrderedDict
from typing import Any

from kitemark.core.model import MAX_PRINTS, clipped
from kitemark.engines.rego_process import frame, read_message, write_all

KEPT_ENGINES = 32  # built engines kept by key (a target's test bundle, a Gatekeeper template...)
MAX_REPLY = 256 << 20  # bytes: a result larger than this is refused, not sent to the parent
_PR_SET_PDEATHSIG = 1


def _limit_self(memory_mib: int) -> None:
    limit = memory_mib << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Ctrl-C is the parent's to handle: it kills this process. Reacting here would only add a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Die with the parent, even in the middle of an evaluation (Linux; elsewhere the closed pipe does it
    # once the evaluation ends).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def main() -> None:
    _limit_self(int(sys.argv[1]))
    # Replies go on a private copy of stdout; anything printed by accident goes to stderr instead.
    out = os.dup(1)
    os.dup2(2, 1)
    from kitemark.engines.rego import NO_INPUT, LocalRegorusEngine, RegoError, RegoSyntaxError

    engines: OrderedDict[str, LocalRegorusEngine] = OrderedDict()
    write_all(out, frame(b'{"ready": true}'))  # the parent's time limits start from here

    def apply(engine: LocalRegorusEngine, ops: list[Any]) -> None:
        for op in ops:
            if op[0] == "policy":
                engine.add_policy(op[1], op[2], op[3])
            else:
                engine.add_data(op[1])

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        if request["op"] == "parse":
            module = LocalRegorusEngine().parse(request["path"], request["source"], request.get("version"))
            return {"module": dataclasses.asdict(module)}
        key = request["key"]
        engine = engines.get(key)
        if engine is None:
            if "base" not in request:
                return {"miss": True}
            engine = LocalRegorusEngine()
            apply(engine, request["base"])
            engines[key] = engine
            while len(engines) > KEPT_ENGINES:
                engines.popitem(last=False)
        engines.move_to_end(key)
        if request.get("overlay"):
            engine = engine.copy()
            apply(engine, request["overlay"])
        results = engine.eval_query(request["query"], input=request.get("input", NO_INPUT))
        # Bounded here, so a policy printing gigabytes never sends them (the evidence keeps fewer still).
        prints = [clipped(line) for line in engine.take_prints()[:MAX_PRINTS]]
        return {"results": results, "prints": prints}

    while True:
        message = read_message(0)
        if message is None:
            return
        try:
            reply = handle(json.loads(message))
        except RegoError as exc:
            reply = {
                "error": {
                    "syntax": isinstance(exc, RegoSyntaxError),
                    "message": exc.message,
                    "path": exc.path,
                    "line": exc.line,
                    "col": exc.col,
                }
            }
        except MemoryError:
            write_all(out, frame(b'{"limit": "memory"}'))
            os._exit(1)
        data = json.dumps(reply).encode()
        if len(data) > MAX_REPLY:
            too_large = f"its result ({len(data) >> 20} MiB) is larger than Kitemark accepts"
            data = json.dumps({"limit": too_large}).encode()
        write_all(out, frame(data))


if __name__ == "__main__":
    main()

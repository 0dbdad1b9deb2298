"""Reading nested JSON/YAML data that may not have the shape it should."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dig(data: Any, *path: str, default: Any = None) -> Any:
    """``data[path[0]][path[1]]…``, or ``default`` as soon as a step is missing or not a mapping."""
    for key in path:
        # dict first: inventories are JSON, and the ABC check costs more than the lookup itself.
        if not isinstance(data, (dict, Mapping)) or key not in data:
            return default
        data = data[key]
    return data

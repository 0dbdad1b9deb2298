"""A run's configuration file, ``kitemark.yaml`` (``--config FILE``, else ``./kitemark.yaml`` when
present): values for check inputs, and extra framework files.

    # kitemark.yaml
    inputs:
      mandatory_tags: [business-unit, application, owner]
      system_namespaces: [kube-system, monitoring, "platform-*"]
    frameworks:
      - frameworks/cis-eks.yaml      # relative to this file; a folder adds every *.yaml in it

Unknown keys and unknown input names are errors: a typo must not silently leave a default in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.core.yamlfile import load_config_file

DEFAULT_NAME = "kitemark.yaml"
_KEYS = {"inputs", "frameworks"}


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    frameworks: tuple[Path, ...] = ()
    # Found in the working directory rather than named by --config: in pre-merge CI that is the
    # checkout under review, so the change being judged could also change what it is judged against.
    implicit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path) if self.path else None,
            "implicit": self.implicit,
            "frameworks": [str(p) for p in self.frameworks],
            "overrides": sorted(self.inputs),  # inputs whose value is the file's, not the default
        }


def find_config(option: str | None, cwd: Path | None = None) -> Path | None:
    """The config file of a run: the option's, else ``kitemark.yaml`` in the working directory."""
    if option:
        path = Path(option).expanduser()
        if not path.is_file():
            raise UsageError(f"--config {option}: file not found")
        return path.resolve()
    default = (cwd or Path.cwd()) / DEFAULT_NAME
    return default.resolve() if default.is_file() else None


def load_config(path: Path | None, implicit: bool = False) -> Config:
    if path is None:
        return Config()
    raw = load_config_file(path, "config file")
    if raw is None:
        return Config(path=path, implicit=implicit)
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping with `inputs` and/or `frameworks`")
    unknown = sorted(set(map(str, raw)) - _KEYS)
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_KEYS))})")
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise UsageError(f"{path}: `inputs` must map input names to values")
    frameworks = raw.get("frameworks") or []
    if not isinstance(frameworks, list) or not all(isinstance(f, str) for f in frameworks):
        raise UsageError(f"{path}: `frameworks` must be a list of file or folder paths")
    resolved = []
    for entry in frameworks:
        target = (path.parent / entry).resolve()
        if not target.exists():
            raise UsageError(f"{path}: framework path {entry} not found ({target})")
        resolved.append(target)
    inputs = {str(k): v for k, v in inputs.items()}
    return Config(path=path, inputs=inputs, frameworks=tuple(resolved), implicit=implicit)

"""Frameworks are plain data: each requirement lists the check ids that evidence it, so a new
framework (CIS EKS, an internal standard) is one YAML file and no code. The mapping goes one way
only, requirement → checks: a check does not name its controls, and the controls shown for a check
are those the framework files give it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.model import Check
from kitemark.core.yamlfile import load_config_file

_REQUIREMENT_KEYS = {"id", "title", "description", "checks", "manual", "manual_evidence"}


@dataclass(frozen=True)
class Requirement:
    framework: str
    id: str
    title: str
    description: str
    checks: tuple[str, ...]
    manual: bool
    manual_evidence: str

    @property
    def control(self) -> str:
        """The string selections use in ``--control``, e.g. ``service-standard:9``."""
        return f"{self.framework}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "control": self.control,
            "title": self.title,
            "description": self.description,
            "checks": list(self.checks),
            "manual": self.manual,
            "manual_evidence": self.manual_evidence,
        }


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    url: str
    requirements: tuple[Requirement, ...]
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "requirements": [r.to_dict() for r in self.requirements],
        }


def builtin_dir() -> Path:
    return resources.data_dir() / "frameworks"


def framework_files(extra: Iterable[Path] = ()) -> list[Path]:
    files = sorted(builtin_dir().glob("*.yaml"))
    for path in extra:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files


def load_frameworks(extra: Iterable[Path] = ()) -> list[Framework]:
    """The built-in frameworks, then any extra files (or folders of them) from the config."""
    frameworks = [_load(path) for path in framework_files(extra)]
    seen: dict[str, str] = {}
    for fw in frameworks:
        if fw.id in seen:
            raise UsageError(f"framework id {fw.id!r} is defined twice: {seen[fw.id]} and {fw.source}")
        seen[fw.id] = fw.source
    return frameworks


def _load(path: Path) -> Framework:
    raw = load_config_file(path, "framework file")
    if not isinstance(raw, dict) or not {"id", "name", "requirements"} <= raw.keys():
        raise UsageError(f"{path}: a framework needs `id`, `name` and `requirements`")
    if not isinstance(raw["requirements"], list):
        raise UsageError(f"{path}: `requirements` must be a list")
    fid = str(raw["id"])
    reqs = [_requirement(path, fid, entry) for entry in raw["requirements"]]
    ids = [r.id for r in reqs]
    if len(ids) != len(set(ids)):
        raise UsageError(f"{path}: requirement ids must be unique")
    return Framework(fid, str(raw["name"]), str(raw.get("url", "")), tuple(reqs), str(path))


def _requirement(path: Path, fid: str, entry: Any) -> Requirement:
    if not isinstance(entry, dict) or "id" not in entry or "title" not in entry:
        raise UsageError(f"{path}: every requirement needs `id` and `title` (got {entry!r:.80})")
    unknown = sorted(set(map(str, entry)) - _REQUIREMENT_KEYS)
    if unknown:
        raise UsageError(f"{path}: requirement {entry['id']}: unknown key {unknown[0]!r}")
    manual = bool(entry.get("manual", False))
    checks = entry.get("checks") or []
    if not isinstance(checks, list):
        raise UsageError(f"{path}: requirement {entry['id']}: `checks` must be a list of check ids")
    if not manual and not checks:
        raise UsageError(f"{path}: requirement {entry['id']} lists no checks and is not marked manual")
    return Requirement(
        framework=fid,
        id=str(entry["id"]),
        title=str(entry["title"]),
        description=str(entry.get("description", "")),
        checks=tuple(dict.fromkeys(str(c) for c in checks)),  # a check listed twice counts once
        manual=manual,
        manual_evidence=str(entry.get("manual_evidence", "")),
    )


def controls_by_check(
    frameworks: Iterable[Framework | Mapping[str, Any]], checks: Iterable[str]
) -> dict[str, list[str]]:
    """Every control each check evidences, in framework order, as the framework files say (given as
    loaded, or as a results document holds them)."""
    out: dict[str, list[str]] = {cid: [] for cid in checks}
    for fw in frameworks:
        pairs = (
            [(req.control, req.checks) for req in fw.requirements]
            if isinstance(fw, Framework)
            else [(req["control"], req.get("checks") or ()) for req in fw["requirements"]]
        )
        for control, mapped in pairs:
            for cid in mapped:
                if cid in out and control not in out[cid]:
                    out[cid].append(control)
    return out


def problems(
    frameworks: Iterable[Framework], checks: Mapping[str, Check], *, builtin: bool = True
) -> list[str]:
    """Framework files naming checks that do not exist (a typo would silently map nothing). A run
    checks the user's own framework files (``builtin=False``); the self-tests check the built-in ones,
    which may name checks of suites a run did not load."""
    home = builtin_dir()
    return [
        f"{req.control} ({fw.source or fw.id}) names unknown check {cid}"
        for fw in frameworks
        if builtin or Path(fw.source).parent != home
        for req in fw.requirements
        for cid in req.checks
        if cid not in checks
    ]

"""Frameworks are plain data: each requirement lists the check ids that evidence it, so a new
framework (CIS EKS, an internal standard) is one YAML file and no code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.model import Check


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
        """The string checks use in `controls=`, e.g. `service-standard:9`."""
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "requirements": [r.to_dict() for r in self.requirements],
        }


def builtin_dir() -> Path:
    return resources.data_dir() / "frameworks"


def load_frameworks(extra_dirs: Iterable[Path] = ()) -> list[Framework]:
    files = sorted(builtin_dir().glob("*.yaml"))
    for folder in extra_dirs:
        files.extend(sorted(Path(folder).glob("*.yaml")))
    frameworks = [_load(path) for path in files]
    seen: set[str] = set()
    for fw in frameworks:
        if fw.id in seen:
            raise UsageError(f"framework id {fw.id!r} is defined twice")
        seen.add(fw.id)
    return frameworks


def _load(path: Path) -> Framework:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise UsageError(f"{path}{line}: framework file is not valid YAML") from None
    if not isinstance(raw, dict) or not {"id", "name", "requirements"} <= raw.keys():
        raise UsageError(f"{path}: a framework needs `id`, `name` and `requirements`")
    fid = str(raw["id"])
    reqs = []
    for entry in raw["requirements"]:
        if "id" not in entry or "title" not in entry:
            raise UsageError(f"{path}: every requirement needs `id` and `title` (got {entry!r:.80})")
        manual = bool(entry.get("manual", False))
        checks = tuple(entry.get("checks") or ())
        if not manual and not checks:
            raise UsageError(f"{path}: requirement {entry['id']} lists no checks and is not marked manual")
        reqs.append(
            Requirement(
                framework=fid,
                id=str(entry["id"]),
                title=str(entry["title"]),
                description=str(entry.get("description", "")),
                checks=checks,
                manual=manual,
                manual_evidence=str(entry.get("manual_evidence", "")),
            )
        )
    return Framework(fid, str(raw["name"]), str(raw.get("url", "")), tuple(reqs))


def controls_by_check(frameworks: Iterable[Framework], checks: Mapping[str, Check]) -> dict[str, list[str]]:
    """Every control a check evidences: what it declares beside its code, plus what any framework
    file maps to it (so a new framework adds controls without touching the check)."""
    out = {cid: list(check.controls) for cid, check in checks.items()}
    for fw in frameworks:
        for req in fw.requirements:
            for cid in req.checks:
                if cid in out and req.control not in out[cid]:
                    out[cid].append(req.control)
    return out


def problems(frameworks: Iterable[Framework], checks: Mapping[str, Check]) -> list[str]:
    """Inconsistencies between frameworks and checks; the self-tests require none."""
    found: list[str] = []
    requirements = {req.control: req for fw in frameworks for req in fw.requirements}
    for req in requirements.values():
        found += [f"{req.control} names unknown check {cid}" for cid in req.checks if cid not in checks]
    for check in checks.values():
        for control in check.controls:
            declared = requirements.get(control)
            if declared is None:
                found.append(f"{check.id} declares unknown control {control}")
            elif check.id not in declared.checks:
                found.append(f"{check.id} declares {control} but that requirement does not list it")
    return found


def selected_checks(
    frameworks: Iterable[Framework],
    checks: Mapping[str, Check],
    *,
    controls: Iterable[str] = (),
    framework_ids: Iterable[str] = (),
    min_severity: str | None = None,
) -> set[str]:
    """Check ids chosen by `--control` (check id or control id), `--framework` and `--severity`."""
    frameworks = list(frameworks)
    mapped = controls_by_check(frameworks, checks)
    chosen = set(checks)
    wanted_controls = list(controls)
    if wanted_controls:
        manual = {req.control for fw in frameworks for req in fw.requirements if req.manual}
        for control in wanted_controls:
            if control in checks or any(control in v for v in mapped.values()):
                continue
            if control in manual:
                raise UsageError(
                    f"--control {control}: a manual requirement; no automated check evidences it"
                )
            raise UsageError(f"--control {control}: not a check id nor a control of any check")
        chosen = {cid for cid in chosen if cid in wanted_controls or set(mapped[cid]) & set(wanted_controls)}
    wanted_frameworks = list(framework_ids)
    if wanted_frameworks:
        known = {fw.id for fw in frameworks}
        for fid in wanted_frameworks:
            if fid not in known:
                raise UsageError(f"--framework {fid}: unknown framework (known: {', '.join(sorted(known))})")
        prefixes = tuple(f"{fid}:" for fid in wanted_frameworks)
        chosen = {cid for cid in chosen if any(c.startswith(prefixes) for c in mapped[cid])}
    if min_severity:
        from kitemark.core.model import Severity

        try:
            floor = Severity(min_severity).rank
        except ValueError:
            levels = ", ".join(s.value for s in Severity)
            raise UsageError(f"--severity {min_severity}: expected one of {levels}") from None
        chosen = {cid for cid in chosen if checks[cid].severity.rank >= floor}
    return chosen

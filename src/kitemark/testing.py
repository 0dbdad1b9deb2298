"""Running checks outside a Kitemark run: on a check's own compliant / non-compliant fixture, or on
any target folder, through the real collector, scopes and default inputs (for self-tests, and for
anyone writing a check)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core import resources
from kitemark.core.catalog import Catalogue
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import Inventory, TargetSpec, Unit, get_kind
from kitemark.core.model import Finding
from kitemark.plan import units_for


def fixture_path(check_id: str, variant: str) -> Path:
    return resources.check_fixtures_dir() / check_id / variant


def default_inputs(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return Catalogue.load().inputs.resolve(overrides or {}, "test inputs")


def run_on_inventory(
    check_id: str, inventory: Inventory, inputs: Mapping[str, Any] | None = None
) -> dict[str, list[Finding]]:
    """Findings of a check per unit id, on an inventory as the workers see it (a JSON round trip)."""
    meta = Catalogue.load().checks[check_id]
    inventory = json.loads(json.dumps(inventory, default=str))
    values = default_inputs(inputs)
    fn = check_function(check_id)
    return {unit.id: evaluate(fn, unit, values) for unit in units_for(meta.scope, [inventory], values)}


def run_check(
    check_id: str,
    location: Path | str,
    *,
    name: str = "t",
    options: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> dict[str, list[Finding]]:
    """Findings of a check per unit id on a target folder, collected by the check's own kind."""
    meta = Catalogue.load().checks[check_id]
    spec = TargetSpec(meta.kind, name, str(location), dict(options or {}))
    return run_on_inventory(check_id, get_kind(meta.kind).collect(spec), inputs)


def run_on_fixture(check_id: str, variant: str) -> list[Finding]:
    """All findings of ``check_id`` on ``fixtures/checks/<check_id>/<variant>`` (compliant|noncompliant)."""
    meta = Catalogue.load().checks[check_id]
    inventory = get_kind(meta.kind).collect_fixture(fixture_path(check_id, variant))
    return [f for findings in run_on_inventory(check_id, inventory).values() for f in findings]


def scope_units(
    scope: str, inventories: list[Inventory], inputs: Mapping[str, Any] | None = None
) -> list[Unit]:
    """The units of a scope as a run plans them (file locations' roots filled in)."""
    return units_for(scope, inventories, inputs or {})


# --- builders for the bundled checks' inputs (the Cloud Platform defaults) ----------------------------

CLOUD_PLATFORM = "cloud-platform.justice.gov.uk/"

# A value for each tag the default `mandatory_tags` input asks of every taggable AWS resource.
MANDATORY_TAGS = {
    "business-unit": "HQ",
    "application": "app",
    "is-production": "false",
    "owner": "team",
    "namespace": "ns",
    "environment-name": "dev",
    "infrastructure-support": "team@example.org",
}


def compliant_namespace(name: str = "team-a", **changes: str | None) -> dict[str, Any]:
    """A team Namespace that meets the default namespace inputs. ``changes`` maps a full label or
    annotation key (pass it as ``**{key: value}``) to a new value, or to ``None`` to remove it; a key
    that is not a label is an annotation."""
    cp = CLOUD_PLATFORM
    labels: dict[str, str] = {
        f"{cp}is-production": "false",
        f"{cp}environment-name": "development",
        "pod-security.kubernetes.io/enforce": "restricted",
    }
    annotations: dict[str, str] = {
        f"{cp}business-unit": "HMPPS",
        f"{cp}slack-channel": "team-a",
        f"{cp}application": "Team A",
        f"{cp}owner": "Team A: team-a@digital.justice.gov.uk",
        f"{cp}source-code": "https://github.com/ministryofjustice/team-a",
        f"{cp}team-name": "team-a",
    }
    for key, value in changes.items():
        into = labels if key in labels else annotations
        if value is None:
            into.pop(key, None)
        else:
            into[key] = value
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
    }


def hcl_map(tags: Mapping[str, str], indent: str = "    ") -> str:
    """``tags`` as an HCL object literal whose entries are indented by ``indent``."""
    return "{\n" + "".join(f'{indent}{k} = "{v}"\n' for k, v in tags.items()) + indent[:-2] + "}"


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (folders made as needed); returns ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root

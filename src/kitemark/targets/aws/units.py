"""The scopes of an aws target: ``eks-cluster`` (one unit per cluster) and ``s3`` (one per account),
each unit's data a typed view (``kitemark.targets.aws.view``), and what a *not applicable* result
says was searched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitemark.core.kinds import InputError, Inventory, Unit
from kitemark.targets.aws.view import EksCluster, S3Account, not_collected


def _errors(errors: Mapping[str, Any] | None) -> list[InputError]:
    return [InputError.from_dict(e) for e in (errors or {}).values() if e]


def eks_cluster_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """One unit per EKS cluster. A region whose clusters could not be listed (refused, or not asked
    for) is one *error* unit, never "no clusters"."""
    label = inventory["target"]
    units = []
    for region, data in sorted(inventory.get("regions", {}).items()):
        unlisted = not_collected(inventory, "eks:ListClusters", region)
        region_errors = [unlisted] if unlisted else _errors(data.get("errors"))
        if region_errors:
            units.append(Unit(f"{label}/{region}/eks", label, None, region_errors))
            continue
        for cluster in data.get("eks_clusters", []):
            undescribed = not_collected(inventory, "eks:DescribeCluster", f"{region} {cluster['name']}")
            errors = [undescribed] if undescribed else _errors(cluster.get("errors"))
            unit_id = f"{label}/{region}/eks:{cluster['name']}"
            units.append(Unit(unit_id, label, EksCluster.from_json(cluster), errors))
    return units


def s3_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """One unit per account: the account-level block and every bucket. Only unlisted buckets make the
    whole unit an error; a bucket or account setting that could not be read is in the view's ``errors``."""
    label = inventory["target"]
    account = S3Account.from_inventory(inventory)
    unlisted = account.errors.get("buckets")
    return [Unit(f"{label}/s3", label, account, [unlisted] if unlisted else [])]


def describe(inventory: Inventory) -> dict[str, Any]:
    """Where the collector looked, for a *not applicable* result: the account and each region searched."""
    regions = inventory.get("regions", {})
    eks_listed = not_collected(inventory, "eks:ListClusters", "") is None
    buckets_listed = not_collected(inventory, "s3:ListBuckets", "") is None
    return {
        "note": f"searched regions {', '.join(sorted(regions))} only",
        "account_id": inventory.get("account_id"),
        "regions_searched": sorted(regions),
        "eks_clusters_found": (
            sum(len(r.get("eks_clusters", [])) for r in regions.values()) if eks_listed else "not collected"
        ),
        "s3_buckets_found": (
            len((inventory.get("s3") or {}).get("buckets", [])) if buckets_listed else "not collected"
        ),
    }

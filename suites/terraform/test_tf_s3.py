"""S3 buckets declared in Terraform are encrypted and closed to the public (terraform target, module scope).

Unit data: ``kitemark.targets.terraform.ModuleView`` — one module's resources, providers, variables and
locals from python-hcl2, with a static evaluator for attribute expressions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kitemark.checks import check, error, failed, not_applicable, passed
from kitemark.model import Finding
from kitemark.targets.hcl_values import PartialMap, Unknown
from kitemark.targets.terraform import Block, ModuleView

SSE_TYPE = "aws_s3_bucket_server_side_encryption_configuration"
PAB_TYPE = "aws_s3_bucket_public_access_block"
PAB_SETTINGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")

# `aws_s3_bucket.logs.id`, `aws_s3_bucket.logs[0].bucket`, `.arn` — but not `data.aws_s3_bucket.x.id`.
_BUCKET_REF = re.compile(r"(?<![\w.])aws_s3_bucket\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.(?:id|bucket|arn)\b")


def _targets(resource: Block, bucket: Block) -> bool:
    """Does a companion resource (``bucket = ...``) point at this bucket?"""
    raw = resource.attrs.get("bucket")
    if not isinstance(raw, str):
        return False
    if raw.startswith("${") and bucket.name in _BUCKET_REF.findall(raw):
        return True
    # The same bucket-name expression (a literal name, or `local.bucket_name` on both) is the same bucket.
    return raw == bucket.attrs.get("bucket")


def _blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name)
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []


def _sse_algorithm(module: ModuleView, config: dict[str, Any]) -> Any:
    """The ``sse_algorithm`` of a (legacy inline or standalone) encryption configuration, evaluated."""
    for rule in _blocks(config, "rule"):
        for default in _blocks(rule, "apply_server_side_encryption_by_default"):
            if "sse_algorithm" in default:
                return module.evaluator.value(default["sse_algorithm"])
    return None


def _encryption(module: ModuleView, bucket: Block) -> dict[str, Any]:
    """The bucket's best encryption configuration; ``state`` is ok / unresolved / no-algorithm / none."""
    candidates = [
        (r.address, r.location, _sse_algorithm(module, r.attrs))
        for r in module.resources_of(SSE_TYPE)
        if _targets(r, bucket)
    ]
    for inline in _blocks(bucket.attrs, "server_side_encryption_configuration"):
        algorithm = _sse_algorithm(module, inline)
        candidates.append(("inline server_side_encryption_configuration", bucket.location, algorithm))
    if not candidates:
        return {"state": "none", "source": None}

    def state(algorithm: Any) -> str:
        if isinstance(algorithm, Unknown | PartialMap):
            return "unresolved"
        return "ok" if isinstance(algorithm, str) and algorithm else "no-algorithm"

    order = ("ok", "unresolved", "no-algorithm")
    source, location, algorithm = min(candidates, key=lambda c: order.index(state(c[2])))
    return {
        "state": state(algorithm),
        "source": source,
        "location": location,
        "sse_algorithm": _show(algorithm),
    }


def _setting(value: Any) -> bool | None:
    """True / False for a known setting, None when it cannot be resolved."""
    if isinstance(value, Unknown | PartialMap):
        return None
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _public_access_block(module: ModuleView, bucket: Block) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    best_rank: tuple[int, int] | None = None
    for pab in module.resources_of(PAB_TYPE):
        if not _targets(pab, bucket):
            continue
        settings: dict[str, Any] = {}
        off = unknown = 0
        for name in PAB_SETTINGS:
            raw = pab.attrs.get(name, False)  # the provider's default for each setting is false
            value = module.evaluator.value(raw)
            state = _setting(value)
            settings[name] = _show(value) if state is None else state
            off += state is False
            unknown += state is None
        rank = (off, unknown)
        if best_rank is None or rank < best_rank:
            best, best_rank = {"resource": pab.address, "location": pab.location, "settings": settings}, rank
    return best or {"resource": None}


def _show(value: Any) -> Any:
    """A value for evidence: unresolved expressions say why, everything else as is."""
    if isinstance(value, Unknown):
        return f"unresolved: {value.reason}"
    if isinstance(value, PartialMap):
        return f"unresolved: {'; '.join(value.unresolved)}"
    return value


@check(
    "TF-S3-001",
    scope="terraform.module",
    title="S3 buckets are encrypted at rest and block all public access",
    severity="high",
    controls=["service-standard:9", "ncsc-csp:2", "ncsc-csp:11"],
    rationale="""
        An S3 bucket is the usual place for exports, backups and uploaded documents. Server-side
        encryption (an ``aws_s3_bucket_server_side_encryption_configuration`` or, in older code, the
        inline ``server_side_encryption_configuration`` block) protects the data at rest, and a public
        access block with all four settings true stops any ACL or bucket policy — present or added
        later by mistake — from making the bucket or its objects public. Leaving one of the four
        settings false leaves a route to public exposure open, which is how most S3 data leaks happen.
    """,
    remediation="""
        Declare both companion resources for every bucket (the MoJ cloud-platform-terraform-s3-bucket
        module does this for you):

            resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
              bucket = aws_s3_bucket.this.id
              rule {
                apply_server_side_encryption_by_default { sse_algorithm = "aws:kms" }
              }
            }

            resource "aws_s3_bucket_public_access_block" "this" {
              bucket                  = aws_s3_bucket.this.id
              block_public_acls       = true
              block_public_policy     = true
              ignore_public_acls      = true
              restrict_public_buckets = true
            }
    """,
    references=[
        "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_bucket_public_access_block",
        "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_bucket_server_side_encryption_configuration",
        "https://github.com/ministryofjustice/cloud-platform-terraform-s3-bucket",
    ],
)
def test_s3_bucket_encrypted_and_private(module: ModuleView) -> Iterator[Finding]:
    buckets = module.resources_of("aws_s3_bucket")
    if not buckets:
        yield not_applicable(module.path, "no aws_s3_bucket resources in this module")
        return
    for bucket in buckets:
        encryption = _encryption(module, bucket)
        pab = _public_access_block(module, bucket)
        problems: list[str] = []
        unresolved: list[str] = []
        if encryption["state"] == "none":
            problems.append(f"no {SSE_TYPE} references it and it has no inline encryption configuration")
        elif encryption["state"] == "unresolved":
            unresolved.append(f"{encryption['source']}: sse_algorithm is {encryption['sse_algorithm']}")
        elif encryption["state"] == "no-algorithm":
            problems.append(f"{encryption['source']} sets no sse_algorithm")
        if pab["resource"] is None:
            problems.append(f"no {PAB_TYPE} references it")
        else:
            for name, state in pab["settings"].items():
                if state is False:
                    problems.append(f"{pab['resource']}: {name} is not true")
                elif state is not True:
                    unresolved.append(f"{pab['resource']}: {name} is {state}")
        evidence = {"bucket": bucket.address, "encryption": encryption, "public_access_block": pab}
        if problems:
            evidence["missing"] = problems
            yield failed(
                bucket.identity,
                f"{bucket.address} is not fully protected: {'; '.join(problems)}",
                evidence=evidence,
                location=bucket.location,
            )
        elif unresolved:
            evidence["unresolved"] = unresolved
            yield error(
                bucket.identity,
                f"cannot tell statically whether {bucket.address} is protected: {'; '.join(unresolved)}",
                evidence=evidence,
                location=bucket.location,
            )
        else:
            yield passed(
                bucket.identity,
                f"{bucket.address} is encrypted ({encryption['sse_algorithm']} via {encryption['source']}) "
                f"and {pab['resource']} blocks all public access",
                evidence=evidence,
                location=bucket.location,
            )

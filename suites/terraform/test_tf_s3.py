"""S3 buckets declared in Terraform are encrypted and closed to the public (terraform target, module scope).

Unit data: ``kitemark.targets.terraform.view.ModuleView`` — one module's resources, providers, variables and
locals from python-hcl2, with a static evaluator for attribute expressions. A verdict that rests on a
variable default a caller can override (``count = var.create ? 1 : 0``, ``block_public_acls = var.block``)
says so in its evidence (``depends_on_defaults``) and message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check, error, failed, passed
from kitemark.core.model import Finding
from kitemark.targets.terraform.hcl_values import PartialMap, Unknown, defaults_used
from kitemark.targets.terraform.instances import Creation, NestedBlock, creation, meta_argument, nested_blocks
from kitemark.targets.terraform.view import Block, ModuleView, nothing_here, state_defaults

SSE_TYPE = "aws_s3_bucket_server_side_encryption_configuration"
PAB_TYPE = "aws_s3_bucket_public_access_block"
PAB_SETTINGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")

# `aws_s3_bucket.logs.id`, `aws_s3_bucket.logs[0].bucket`, `.arn` — but not `data.aws_s3_bucket.x.id`.
_BUCKET_REF = re.compile(r"(?<![\w.])aws_s3_bucket\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.(?:id|bucket|arn)\b")
# Values that differ from one instance of a resource to the next.
_PER_INSTANCE = re.compile(r"(?<![\w.])(?:each|count)\.")
# A companion with `for_each = aws_s3_bucket.logs` and `bucket = each.value.id`: one per bucket instance.
_EACH_BUCKET = re.compile(r"\$\{each\.value\.(?:id|bucket|arn)\}")


def _iterates_bucket(resource: Block, bucket: Block) -> bool:
    return meta_argument(resource) == ("for_each", f"${{{bucket.address}}}")


def _targets(resource: Block, bucket: Block) -> bool:
    """Does a companion resource (``bucket = ...``) point at this bucket?"""
    raw = resource.attrs.get("bucket")
    if not isinstance(raw, str):
        return False
    if raw.startswith("${") and bucket.name in _BUCKET_REF.findall(raw):
        return True
    if _EACH_BUCKET.fullmatch(raw) and _iterates_bucket(resource, bucket):
        return True
    if raw != bucket.attrs.get("bucket"):
        return False
    # The same bucket-name expression (a literal name, or `local.bucket_name` on both) is the same bucket —
    # unless it varies per instance (`each.value`), when it names the same buckets only if both resources
    # iterate over the same count/for_each expression.
    return not _PER_INSTANCE.search(raw) or meta_argument(resource) == meta_argument(bucket)


def _creation(module: ModuleView, resource: Block, bucket: Block) -> Creation:
    """Is the companion created? One with the bucket's own count/for_each exists whenever the bucket does."""
    meta = meta_argument(resource)
    if meta is not None and meta == meta_argument(bucket):
        return Creation("some", f"{meta[0]} as on {bucket.address}")
    if _iterates_bucket(resource, bucket):
        return Creation("some", f"for_each = {bucket.address}")
    return creation(resource, module.evaluator)


def _not_created(resource: Block, made: Creation) -> str:
    return f"{resource.address} is not created with this module's defaults ({made.meta})"


def _sse_algorithm(config: NestedBlock) -> tuple[Any, str | None]:
    """The ``sse_algorithm`` of an encryption configuration (rules written out or ``dynamic``), evaluated,
    and why the rule it comes from may not exist (an unresolved ``for_each``)."""
    found: list[tuple[Any, str | None]] = []
    for rule in nested_blocks(config.evaluator, config.body, "rule"):
        for default in nested_blocks(rule.evaluator, rule.body, "apply_server_side_encryption_by_default"):
            if "sse_algorithm" in default.body:
                value = default.evaluator.value(default.body["sse_algorithm"])
                found.append((value, rule.unresolved or default.unresolved))
    # A rule certain to exist with a known algorithm first, then the rest in order.
    found.sort(key=lambda f: (f[1] is not None, not _algorithm_ok(f[0])))
    return found[0] if found else (None, None)


def _algorithm_ok(algorithm: Any) -> bool:
    return isinstance(algorithm, str) and bool(algorithm)


def _encryption(module: ModuleView, bucket: Block) -> dict[str, Any]:
    """The bucket's best encryption configuration; ``state`` is ok / unresolved / no-algorithm / none."""
    candidates: list[dict[str, Any]] = []
    not_created: list[str] = []
    for resource in module.resources_of(SSE_TYPE):
        if not _targets(resource, bucket):
            continue
        made = _creation(module, resource, bucket)
        if made.created is False:
            not_created.append(_not_created(resource, made))
            continue
        config = NestedBlock(resource.attrs, module.evaluator, resource.address)
        algorithm, doubt = _sse_algorithm(config)
        if made.created is None:
            doubt = f"cannot tell whether {resource.address} is created: {made.meta} ({made.reason})"
        candidates.append(_candidate(resource.address, resource.location, algorithm, doubt))
    for inline in nested_blocks(module.evaluator, bucket.attrs, "server_side_encryption_configuration"):
        algorithm, doubt = _sse_algorithm(inline)
        doubt = inline.unresolved or doubt
        source = "inline server_side_encryption_configuration"
        candidates.append(_candidate(source, bucket.location, algorithm, doubt))
    if not candidates:
        return {"state": "none", "source": None, **({"not_created": not_created} if not_created else {})}
    order = ("ok", "unresolved", "no-algorithm")
    best = min(candidates, key=lambda c: order.index(c["state"]))
    return best | ({"not_created": not_created} if not_created else {})


def _candidate(source: str, location: str, algorithm: Any, doubt: str | None) -> dict[str, Any]:
    if isinstance(algorithm, Unknown | PartialMap):
        state = "unresolved"
    elif not _algorithm_ok(algorithm):
        state = "no-algorithm"
    else:
        state = "unresolved" if doubt else "ok"
    found = {"state": state, "source": source, "location": location, "sse_algorithm": _show(algorithm)}
    if doubt and state == "unresolved":
        found["doubt"] = doubt
    return found


def _setting(value: Any) -> bool | None:
    """True / False for a known setting, None when it cannot be resolved."""
    if isinstance(value, Unknown | PartialMap):
        return None
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _public_access_block(module: ModuleView, bucket: Block) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    best_rank: tuple[int, int] | None = None
    not_created: list[str] = []
    for pab in module.resources_of(PAB_TYPE):
        if not _targets(pab, bucket):
            continue
        made = _creation(module, pab, bucket)
        if made.created is False:
            not_created.append(_not_created(pab, made))
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
        found: dict[str, Any] = {"resource": pab.address, "location": pab.location, "settings": settings}
        if made.created is None:
            found["doubt"] = f"cannot tell whether {pab.address} is created: {made.meta} ({made.reason})"
            unknown += 1
        rank = (off, unknown)
        if best_rank is None or rank < best_rank:
            best, best_rank = found, rank
    result = best or {"resource": None}
    return result | ({"not_created": not_created} if not_created else {})


def _show(value: Any) -> Any:
    """A value for evidence: unresolved expressions say why, everything else as is."""
    if isinstance(value, Unknown | PartialMap):
        return f"unresolved: {value.reason}"
    return value


@check(
    "TF-S3-001",
    scope="terraform.module",
    title="S3 buckets declare encryption explicitly and block all public access",
    severity="high",
    rationale="""
        An S3 bucket is the usual place for exports, backups and uploaded documents. Since January 2023
        S3 encrypts new objects with SSE-S3 by default, so this check does not claim an unconfigured
        bucket is unencrypted: it requires the encryption to be declared explicitly in code (an
        ``aws_s3_bucket_server_side_encryption_configuration`` or, in older code, the inline
        ``server_side_encryption_configuration`` block), so that the choice of algorithm and key is
        reviewable and cannot drift. A public access block with all four settings true stops any ACL or
        bucket policy — present or added later by mistake — from making the bucket or its objects
        public; leaving one false leaves open the route by which most S3 data leaks happen.
    """,
    remediation="""
        Declare both companion resources for every bucket, created whenever the bucket is (no
        ``count``/``for_each`` that can switch them off on their own; the MoJ
        cloud-platform-terraform-s3-bucket module does this for you):

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
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-encryption-faq.html",
        "https://github.com/ministryofjustice/cloud-platform-terraform-s3-bucket",
    ],
    reads=["aws_s3_bucket", SSE_TYPE, PAB_TYPE, "variable", "locals"],
)
def test_s3_bucket_encrypted_and_private(module: ModuleView) -> Iterator[Finding]:
    buckets = module.resources_of("aws_s3_bucket")
    if not buckets:
        yield nothing_here(module, "no aws_s3_bucket resources in this module")
        return
    for bucket in buckets:
        with defaults_used() as used:
            encryption = _encryption(module, bucket)
            pab = _public_access_block(module, bucket)
        yield state_defaults(_assess(bucket, encryption, pab), module, used.entries)


def _assess(bucket: Block, encryption: dict[str, Any], pab: dict[str, Any]) -> Finding:
    problems: list[str] = []
    unresolved: list[str] = []
    if encryption["state"] == "none":
        skipped = encryption.get("not_created")
        found = f"{'; '.join(skipped)}" if skipped else f"no {SSE_TYPE} references it"
        problems.append(
            f"no explicit encryption configuration in code ({found}, and it has no inline "
            "server_side_encryption_configuration)"
        )
    elif encryption["state"] == "unresolved":
        doubt = encryption.get("doubt")
        unresolved.append(doubt or f"{encryption['source']}: sse_algorithm is {encryption['sse_algorithm']}")
    elif encryption["state"] == "no-algorithm":
        problems.append(f"{encryption['source']} sets no sse_algorithm")
    if pab["resource"] is None:
        skipped = pab.get("not_created")
        problems.append(
            f"no {PAB_TYPE} is created for it ({'; '.join(skipped)})"
            if skipped
            else f"no {PAB_TYPE} references it"
        )
    else:
        if "doubt" in pab:
            unresolved.append(pab["doubt"])
        for name, state in pab["settings"].items():
            if state is False:
                problems.append(f"{pab['resource']}: {name} is not true")
            elif state is not True:
                unresolved.append(f"{pab['resource']}: {name} is {state}")
    evidence = {"bucket": bucket.address, "encryption": encryption, "public_access_block": pab}
    if problems:
        evidence["missing"] = problems
        return failed(
            bucket.identity,
            f"{bucket.address} is not fully protected: {'; '.join(problems)}",
            evidence=evidence,
            location=bucket.location,
        )
    if unresolved:
        evidence["unresolved"] = unresolved
        return error(
            bucket.identity,
            f"cannot tell statically whether {bucket.address} is protected: {'; '.join(unresolved)}",
            evidence=evidence,
            location=bucket.location,
        )
    return passed(
        bucket.identity,
        f"{bucket.address} declares encryption explicitly ({encryption['sse_algorithm']} via "
        f"{encryption['source']}) and {pab['resource']} blocks all public access",
        evidence=evidence,
        location=bucket.location,
    )

"""Where team workloads' container images come from, and whether they are pinned."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, not_applicable
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import WORKLOAD_READS, Container, NamespaceView, PodTemplate

from .images import ALLOWED_REGISTRIES, DIGEST, DISALLOWED_TAGS, IMAGE, REQUIRE_DIGEST, allowed, parse_image
from .workloads import Assessment, workload_findings

READS = ["v1/Namespace", *WORKLOAD_READS]


def _pin_problem(container: Container, banned: list[str], digest: bool) -> tuple[dict[str, Any], str | None]:
    text = container.spec.get("image")
    seen: dict[str, Any] = {"name": container.name, "type": container.type, "image": text}
    label = container.label
    if not text:
        return seen, f"{label} names no image"
    image = parse_image(str(text))
    seen.update(tag=image.tag, digest=image.digest)
    if image.digest is not None:
        if DIGEST.match(image.digest) is None:
            return seen, f"{label} has a malformed digest in image {text}"
        return seen, None
    if digest:
        return seen, f"{label} image {text} is not pinned by digest (input require_image_digest)"
    if image.tag is None:
        return seen, f"{label} image {text} has no tag (the runtime pulls `latest`)"
    if image.tag in banned:
        return seen, f"{label} image {text} uses the tag `{image.tag}`, which does not pin an image"
    return seen, None


@check(
    "K8S-IMG-001",
    scope="cluster.namespace",
    title="Team workloads pin every container image (no `latest`, no missing tag)",
    severity="medium",
    rationale="""
        An image without a tag, or tagged `latest`, names whatever was pushed last: two pods of one
        Deployment can run different code, a rollback does not roll back, and nobody can say which
        build is in production or whether it was scanned. Pinning every image to a release tag (or a
        digest, which no push can move) makes what runs reviewable and reproducible (Service
        Standard 14; NCSC principles 5, change management, and 8, supply chain). Every container is
        assessed, init and ephemeral ones and those added at admission included. The tags refused
        are the input `disallowed_image_tags`; with `require_image_digest` every image must carry a
        digest.
    """,
    remediation="""
        Deploy a release tag built by CI (the commit SHA is a good one), or a digest:

            image: 754256621582.dkr.ecr.eu-west-2.amazonaws.com/my-team/my-app:3f2c1ab
            image: ghcr.io/ministryofjustice/my-app@sha256:<64 hex digits>

        Never deploy `:latest`; mark tags immutable in the ECR repository.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
        "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
    ],
    reads=READS,
    inputs=[DISALLOWED_TAGS, REQUIRE_DIGEST],
)
def test_images_pinned(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    banned, digest = list(inputs[DISALLOWED_TAGS.name]), bool(inputs[REQUIRE_DIGEST.name])

    def assess(template: PodTemplate) -> Assessment:
        assessed = [_pin_problem(c, banned, digest) for c in template.containers()]
        return {"containers": [s for s, _ in assessed]}, [p for _, p in assessed if p]

    def message(count: int) -> str:
        which = "its container's image is" if count == 1 else f"all {count} containers' images are"
        return f"{which} pinned {'by digest' if digest else 'by a release tag or digest'}"

    yield from workload_findings(ns, assess, message, shape=IMAGE)


@check(
    "K8S-IMG-002",
    scope="cluster.namespace",
    title="Team workloads run images only from the allowed registries",
    severity="high",
    rationale="""
        An image is code that runs inside the platform with the namespace's credentials. Pulled from
        an arbitrary registry or Docker Hub account, it has passed none of the platform's scanning,
        may change under the same tag, and may be removed or replaced by someone outside MoJ (NCSC
        principle 8, supply chain; Service Standard 9). The allowed repositories are the input
        `allowed_image_registries` (shell globs over the full repository name; Docker Hub names are
        written in full, `nginx` being `docker.io/library/nginx`): by default the Cloud Platform's
        ECR, the Ministry of Justice's GitHub and Docker Hub organisations and HMPPS's Quay.io one.
        Every container is assessed, init and ephemeral ones and those added at admission included.
    """,
    remediation="""
        Build the image in CI and push it to the namespace's ECR repository (an `ecr.tf` in the
        namespace's `resources/` in cloud-platform-environments), or mirror the third-party image
        there, and deploy it from there. If a registry is approved for your platform, add it to
        `allowed_image_registries` in `kitemark.yaml`.
    """,
    references=[
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/deploying-an-app/ecr-setup.html",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-8-supply-chain-security",
    ],
    reads=READS,
    inputs=[ALLOWED_REGISTRIES],
)
def test_images_from_allowed_registries(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    patterns: list[str] = list(inputs[ALLOWED_REGISTRIES.name])
    if not patterns:
        yield not_applicable(
            ns.ref, "no registries are allowed-listed (input allowed_image_registries is empty)"
        )
        return

    def assess(template: PodTemplate) -> Assessment:
        seen, problems = [], []
        for c in template.containers():
            text = c.spec.get("image")
            image = parse_image(str(text)) if text else None
            match = allowed(image, patterns) if image else None
            seen.append({"name": c.name, "type": c.type, "image": text, "matched": match})
            if image is None:
                problems.append(f"{c.label} names no image")
            elif match is None:
                problems.append(
                    f"{c.label} image {text} ({image.full_repository}) is from no allowed registry"
                )
        return {"allowed": patterns, "containers": seen}, problems

    def message(count: int) -> str:
        which = "its container's image comes" if count == 1 else f"all {count} containers' images come"
        return f"{which} from an allowed registry ({', '.join(patterns)})"

    yield from workload_findings(ns, assess, message, shape=IMAGE)

"""Container image references as the container runtime reads them, for K8S-IMG-001/002."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from kitemark.core.inputs import Input
from kitemark.targets.cluster import shapes

IMAGE = shapes.Map({"image": shapes.STR})
DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")

DISALLOWED_TAGS = Input(
    "disallowed_image_tags",
    default=["latest"],
    description="Image tags that do not pin an image: a container using one fails K8S-IMG-001",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
REQUIRE_DIGEST = Input(
    "require_image_digest",
    default=False,
    description="Whether every image must be pinned by digest (`@sha256:…`), not only by tag (K8S-IMG-001)",
    schema={"type": "boolean"},
)
ALLOWED_REGISTRIES = Input(
    "allowed_image_registries",
    default=[
        "754256621582.dkr.ecr.eu-west-2.amazonaws.com/*",
        "ghcr.io/ministryofjustice/*",
        "docker.io/ministryofjustice/*",
        "quay.io/hmpps/*",
    ],
    description=(
        "Shell globs an image's repository must match, after Docker Hub names are written in full "
        "(`nginx` is `docker.io/library/nginx`): the Cloud Platform's ECR and the MoJ and HMPPS "
        "organisations (K8S-IMG-002)"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)


@dataclass(frozen=True)
class ImageRef:
    """An image reference split as the runtime splits it: ``repository[:tag][@digest]``."""

    text: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def full_repository(self) -> str:
        """The repository with its registry: Docker Hub's short names written in full."""
        first, sep, rest = self.repository.partition("/")
        if not sep:
            return f"docker.io/library/{first}"
        if first in ("docker.io", "index.docker.io"):
            return f"docker.io/{rest}" if "/" in rest else f"docker.io/library/{rest}"
        if "." in first or ":" in first or first == "localhost":
            return self.repository
        return f"docker.io/{self.repository}"


def parse_image(text: str) -> ImageRef:
    name, _, digest = text.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:  # a colon before the last slash is a registry's port
        return ImageRef(text, name[:colon], name[colon + 1 :], digest or None)
    return ImageRef(text, name, None, digest or None)


def allowed(image: ImageRef, patterns: list[str]) -> str | None:
    """The first pattern ``image``'s repository matches, or ``None``."""
    full = image.full_repository
    return next((p for p in patterns if fnmatch.fnmatchcase(full, p)), None)

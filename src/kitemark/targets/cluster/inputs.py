"""Check inputs shared by the cluster kind (its scopes read them; checks may too).

The defaults are the MoJ Cloud Platform's; a run overrides them in ``kitemark.yaml``::

    inputs:
      system_namespaces: [kube-system, monitoring, "platform-*"]
"""

from __future__ import annotations

from typing import Any

import jsonschema

from kitemark.core.inputs import Input


class CheckedInput(Input):
    """An input whose schema's ``format`` keywords are enforced too (``"format": "regex"``), so a bad
    regular expression is refused when the configuration is read, not when a check first uses it."""

    def problem(self, value: Any) -> str | None:
        found = super().problem(value)
        if found or not self.schema:
            return found
        try:
            jsonschema.validate(value, dict(self.schema), format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            return exc.message + (f" (at {where})" if where else "")
        return None


SYSTEM_NAMESPACES = CheckedInput(
    "system_namespaces",
    default=[
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "gatekeeper-system",
        "ingress-controllers",
        "monitoring",
        "cert-manager",
        "logging",
        "velero",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "kuberos",
        "overprovision",
        "concourse",
        "concourse-*",
    ],
    description=(
        "Namespaces the platform team runs, as exact names or shell globs (`concourse-*`): they are not "
        "team namespaces, so namespace checks skip them (objects that name no namespace are assessed "
        "even when their default namespace is listed here)"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)

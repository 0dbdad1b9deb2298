"""The platform namespaces other checks look for, as check inputs: each by its name and the labels
it carries (a NetworkPolicy admits a namespace by its labels; the platform checks find it by name).
One declaration each, so the network and platform checks cannot disagree about them."""

from __future__ import annotations

from kitemark.core.inputs import Input


def _namespace_input(name: str, namespace: str, label: str, what: str) -> Input:
    return Input(
        name,
        default={"name": namespace, "labels": {"component": label}},
        description=f"The namespace {what} run in: its name and the labels it carries (a policy admits "
        "it when a namespaceSelector matches these labels or its kubernetes.io/metadata.name)",
        schema={
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["name", "labels"],
            "additionalProperties": False,
        },
    )


INGRESS_CONTROLLERS = _namespace_input(
    "ingress_controllers_namespace", "ingress-controllers", "ingress-controllers", "the ingress controllers"
)
MONITORING = _namespace_input("monitoring_namespace", "monitoring", "monitoring", "Prometheus (monitoring)")

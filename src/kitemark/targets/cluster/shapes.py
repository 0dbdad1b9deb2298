"""The types of the fields the cluster checks read, and the fields of an object that do not have them.

A snapshot is untrusted: a hand-edited manifest may hold ``podSelector: []`` or ``privileged: "true"``.
The API server refuses such an object, so it is in no cluster, and a reader other than Kitemark's may
make something else of it (go-yaml v2 reads ``y`` as true). Read leniently, a value of the wrong type
could pass a check (``podSelector: ""`` is falsy, as an empty selector is): a check reports every
field listed here as the reason it cannot assess the object, never reading it as absent or empty.

``null`` for a field is absent, as the API server reads it (Go leaves the field unset); a ``null``
list item or map value is of the wrong type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scalar:
    name: str  # "a string"
    types: type | tuple[type, ...]
    boolean: bool = False  # whether a bool is one (Python's bool is an int)

    def holds(self, value: Any) -> bool:
        return isinstance(value, self.types) and (self.boolean or not isinstance(value, bool))


@dataclass(frozen=True)
class Map:
    """A mapping: ``fields`` by name (others are not read), or ``values`` for every entry (labels)."""

    fields: Mapping[str, Shape] = field(default_factory=dict)
    values: Shape | None = None
    name: str = "a mapping"


@dataclass(frozen=True)
class Seq:
    items: Shape
    name: str = "a list"


Shape = Scalar | Map | Seq

STR = Scalar("a string", str)
BOOL = Scalar("a boolean", bool, boolean=True)
INT = Scalar("an integer", int)

MAX_LISTED = 5  # fields named in one message; the rest are counted


def wrong_types(value: Any, shape: Shape, at: str = "") -> list[str]:
    """Each field of ``value`` (read as ``shape``) of another type, as ``path (a str, not a list)``.
    ``value`` itself may be ``None`` (absent)."""
    if value is None:
        return []
    return _walk(value, shape, at)


def _walk(value: Any, shape: Shape, at: str) -> list[str]:
    # Run on every policy and container of a snapshot: scalars are tested here, not in a call each.
    if isinstance(shape, Scalar):
        return [] if shape.holds(value) else [_wrong(at, value, shape.name)]
    if isinstance(shape, Seq):
        if not isinstance(value, list):
            return [_wrong(at, value, shape.name)]
        return [p for i, item in enumerate(value) for p in _walk(item, shape.items, f"{at}[{i}]")]
    if not isinstance(value, Mapping):
        return [_wrong(at, value, shape.name)]
    found: list[str] = []
    if shape.values is not None:
        for key, item in value.items():
            found += _walk(item, shape.values, f"{at}[{str(key)[:80]!r}]")
    for key, inner in shape.fields.items():
        item = value.get(key)
        if item is None:
            continue
        if isinstance(inner, Scalar):
            if not inner.holds(item):
                found.append(_wrong(f"{at}.{key}" if at else key, item, inner.name))
        else:
            found += _walk(item, inner, f"{at}.{key}" if at else key)
    return found


def _wrong(at: str, value: Any, expected: str) -> str:
    what = "null" if value is None else f"a {type(value).__name__}"
    return f"{at or 'the value'} ({what}, not {expected})"


def listed(problems: list[str]) -> str:
    """Problems as one line: the first few, then how many more."""
    more = len(problems) - MAX_LISTED
    return ", ".join(problems[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


# --- what the cluster checks read -------------------------------------------------------------------

LABEL_SELECTOR = Map(
    {
        "matchLabels": Map(values=STR),
        "matchExpressions": Seq(Map({"key": STR, "operator": STR, "values": Seq(STR)})),
    }
)
NETWORK_POLICY_PEER = Map(
    {
        "podSelector": LABEL_SELECTOR,
        "namespaceSelector": LABEL_SELECTOR,
        "ipBlock": Map({"cidr": STR, "except": Seq(STR)}),
    }
)
# K8S-NET-001 reads the pods a policy selects, whether it governs ingress, and the sources it admits
# (not `ports`, nor `egress`).
NETWORK_POLICY = Map(
    {
        "spec": Map(
            {
                "podSelector": LABEL_SELECTOR,
                "policyTypes": Seq(STR),
                "ingress": Seq(Map({"from": Seq(NETWORK_POLICY_PEER)})),
            }
        )
    }
)
# K8S-NS-001 reads a Namespace's labels and annotations.
NAMESPACE = Map({"metadata": Map({"labels": Map(values=STR), "annotations": Map(values=STR)})})

# K8S-POD-001/002 read these of every container and pod spec (the lists K8S-POD-002 alone reads —
# volumes, sysctls, ports — fail that check instead: ``suites/cluster/restricted.py``).
_SECURITY_CONTEXT: dict[str, Shape] = {
    "runAsNonRoot": BOOL,
    "runAsUser": INT,
    "seccompProfile": Map({"type": STR}),
    "seLinuxOptions": Map({"type": STR, "user": STR, "role": STR}),
    "appArmorProfile": Map({"type": STR}),
    "windowsOptions": Map({"hostProcess": BOOL}),
}
CONTAINER = Map(
    {
        "securityContext": Map(
            {
                **_SECURITY_CONTEXT,
                "privileged": BOOL,
                "allowPrivilegeEscalation": BOOL,
                "readOnlyRootFilesystem": BOOL,
                "procMount": STR,
                "capabilities": Map({"add": Seq(STR), "drop": Seq(STR)}),
            }
        )
    }
)
POD_METADATA = Map({"annotations": Map(values=STR)})  # AppArmor profiles by annotation
POD_SPEC = Map(
    {"hostPID": BOOL, "hostIPC": BOOL, "hostNetwork": BOOL, "securityContext": Map(_SECURITY_CONTEXT)}
)

# K8S-RBAC-001..003 read a binding's role and subjects, and a role's rules.
ROLE_REF = Map({"kind": STR, "name": STR, "apiGroup": STR})
SUBJECT = Map({"kind": STR, "name": STR, "namespace": STR, "apiGroup": STR})
ROLE_BINDING = Map({"roleRef": ROLE_REF, "subjects": Seq(SUBJECT)})
POLICY_RULE = Map({"verbs": Seq(STR), "resources": Seq(STR), "apiGroups": Seq(STR)})
ROLE = Map({"rules": Seq(POLICY_RULE)})
# K8S-RBAC-004 reads a Secret's type.
SECRET = Map({"type": STR})
# K8S-RBAC-005 reads which service account a pod runs as and whether its token is mounted.
POD_TOKEN = Map({"automountServiceAccountToken": BOOL, "serviceAccountName": STR, "serviceAccount": STR})
SERVICE_ACCOUNT = Map({"automountServiceAccountToken": BOOL})
# K8S-ING-00x read an Ingress's class, its rules' hosts, its TLS entries and its annotations.
INGRESS = Map(
    {
        "metadata": Map({"annotations": Map(values=STR)}),
        "spec": Map(
            {
                "ingressClassName": STR,
                "rules": Seq(Map({"host": STR})),
                "tls": Seq(Map({"hosts": Seq(STR), "secretName": STR})),
            }
        ),
    }
)
# K8S-OBS-001/002 read a PrometheusRule's labels and each rule's `alert`, `for`, labels and
# annotations (not `expr`: an int-or-string the API server holds either way).
PROMETHEUS_RULE = Map(
    {
        "metadata": Map({"labels": Map(values=STR)}),
        "spec": Map(
            {
                "groups": Seq(
                    Map(
                        {
                            "name": STR,
                            "rules": Seq(
                                Map(
                                    {
                                        "alert": STR,
                                        "record": STR,
                                        "for": STR,
                                        "labels": Map(values=STR),
                                        "annotations": Map(values=STR),
                                    }
                                )
                            ),
                        }
                    )
                )
            }
        ),
    }
)
# K8S-ING-002 reads an IngressClass's controller and whether it is the default class.
INGRESS_CLASS = Map({"metadata": Map({"annotations": Map(values=STR)}), "spec": Map({"controller": STR})})
# K8S-OBS-003 reads a ServiceMonitor's selectors and its endpoints' port names, and the Services'
# labels and port names.
SERVICE_MONITOR = Map(
    {
        "spec": Map(
            {
                "selector": LABEL_SELECTOR,
                "namespaceSelector": Map({"any": BOOL, "matchNames": Seq(STR)}),
                "endpoints": Seq(Map({"port": STR})),
            }
        )
    }
)
SERVICE = Map({"metadata": Map({"labels": Map(values=STR)}), "spec": Map({"ports": Seq(Map({"name": STR}))})})
# K8S-OBS-004/005 read a ConfigMap's labels and its data (every value a string).
CONFIG_MAP = Map({"metadata": Map({"labels": Map(values=STR)}), "data": Map(values=STR)})
# K8S-GK-001 reads where each admission webhook sends its reviews and what it covers.
WEBHOOK_CONFIGURATION = Map(
    {
        "webhooks": Seq(
            Map(
                {
                    "name": STR,
                    "failurePolicy": STR,
                    "clientConfig": Map({"service": Map({"namespace": STR, "name": STR})}),
                    "rules": Seq(Map({"operations": Seq(STR), "resources": Seq(STR)})),
                }
            )
        )
    }
)
# K8S-GK-002/003 read a Gatekeeper constraint's enforcement action(s) and its audit status.
CONSTRAINT = Map(
    {
        "spec": Map(
            {
                "enforcementAction": STR,
                "scopedEnforcementActions": Seq(
                    Map({"action": STR, "enforcementPoints": Seq(Map({"name": STR}))})
                ),
            }
        ),
        "status": Map(
            {
                "totalViolations": INT,
                "auditTimestamp": STR,
                "violations": Seq(Map({"kind": STR, "name": STR, "namespace": STR, "message": STR})),
            }
        ),
    }
)
# K8S-PLAT-001 reads whether a Namespace is terminating and whether a CRD is established.
NAMESPACE_STATUS = Map({"status": Map({"phase": STR})})
CRD_STATUS = Map({"status": Map({"conditions": Seq(Map({"type": STR, "status": STR}))})})
# K8S-PLAT-002 reads desired and ready replicas (Deployment, StatefulSet) or pods (DaemonSet).
WORKLOAD_STATUS = Map(
    {
        "spec": Map({"replicas": INT}),
        "status": Map({"readyReplicas": INT, "desiredNumberScheduled": INT, "numberReady": INT}),
    }
)
# K8S-OBS-006 reads a cert-manager Certificate's Ready condition, expiry and issuer.
CERTIFICATE = Map(
    {
        "spec": Map({"issuerRef": Map({"name": STR, "kind": STR})}),
        "status": Map(
            {
                "notAfter": STR,
                "renewalTime": STR,
                "conditions": Seq(Map({"type": STR, "status": STR, "reason": STR, "message": STR})),
            }
        ),
    }
)
# K8S-GK-004 reads where a Gatekeeper mutator writes (evidence).
MUTATOR = Map({"spec": Map({"location": STR})})

# K8S-NS-003 / K8S-NS-004 read a LimitRange's Container defaults and a ResourceQuota's hard limits.
# A quantity is a string in the API; YAML may give a number (`cpu: 1`), which the API server accepts.
QUANTITY = Scalar("a quantity (a string or number)", (str, int, float))
LIMIT_RANGE = Map(
    {
        "spec": Map(
            {
                "limits": Seq(
                    Map(
                        {
                            "type": STR,
                            "default": Map(values=QUANTITY),
                            "defaultRequest": Map(values=QUANTITY),
                            "max": Map(values=QUANTITY),
                        }
                    )
                )
            }
        )
    }
)
RESOURCE_QUOTA = Map(
    {"spec": Map({"hard": Map(values=QUANTITY), "scopes": Seq(STR), "scopeSelector": Map()})}
)
